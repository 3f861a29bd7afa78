/**
 * model.py of `export --pytorch`: the network as a torch.nn.Module with the state_dict names of our
 * models. torchvision's classes where torchvision has the family (with the CIFAR stem applied the way
 * src/models/stem.ts applies it: at construction, so a block that becomes stride 1 gets its residual
 * exactly as ours does); our own definitions of MobileNetV1 and megvii's ShuffleNetV1.
 */

/** One family's Python: its imports and its builder function. */
interface FamilyPy {
  imports: string;
  code: string;
  /** The builder's name and the keyword arguments it takes from our model options. */
  builder: string;
}

const CIFAR_NOTE = `stem='cifar' (32x32 inputs): the stem convolution and the first stage with stride 2 get stride 1,
    so the total stride is 8 instead of 32 (mobilezoo's src/models/stem.ts).`;

const MOBILENET_V1: FamilyPy = {
  imports: 'from torch import nn\nfrom torchvision.models._utils import _make_divisible',
  builder: 'mobilenet_v1',
  code: String.raw`
def conv_bn_relu6(inp, oup, kernel, stride, groups=1):
    return nn.Sequential(
        nn.Conv2d(inp, oup, kernel, stride, (kernel - 1) // 2, groups=groups, bias=False),
        nn.BatchNorm2d(oup),
        nn.ReLU6(inplace=True),
    )


class MobileNetV1(nn.Module):
    """MobileNetV1 (Howard et al., 2017, Table 1) with ReLU6 and torchvision-style names: features.0 is the
    stem, features.1-13 are Sequential(depthwise, pointwise) blocks, then global average pooling and
    classifier = Sequential(Dropout, Linear). Channels are _make_divisible(c * width_mult, 8)."""

    SETTING = [(64, 1), (128, 2), (128, 1), (256, 2), (256, 1), (512, 2)] + [(512, 1)] * 5 + [(1024, 2), (1024, 1)]

    def __init__(self, num_classes=1000, width_mult=1.0, dropout=0.2, stem='imagenet'):
        super().__init__()
        strides = [s for _, s in self.SETTING]
        stem_stride = 2
        if stem == 'cifar':
            stem_stride = 1
            strides[strides.index(2)] = 1
        channels = _make_divisible(32 * width_mult, 8)
        layers = [conv_bn_relu6(3, channels, 3, stem_stride)]
        for (c, _), s in zip(self.SETTING, strides):
            out = _make_divisible(c * width_mult, 8)
            layers.append(nn.Sequential(conv_bn_relu6(channels, channels, 3, s, groups=channels), conv_bn_relu6(channels, out, 1, 1)))
            channels = out
        self.features = nn.Sequential(*layers)
        self.classifier = nn.Sequential(nn.Dropout(p=dropout), nn.Linear(channels, num_classes))
        # torchvision's MobileNet initialization.
        for m in self.modules():
            if isinstance(m, nn.Conv2d):
                nn.init.kaiming_normal_(m.weight, mode='fan_out')
            elif isinstance(m, nn.BatchNorm2d):
                nn.init.ones_(m.weight)
                nn.init.zeros_(m.bias)
            elif isinstance(m, nn.Linear):
                nn.init.normal_(m.weight, 0, 0.01)
                nn.init.zeros_(m.bias)

    def forward(self, x):
        x = self.features(x)
        x = nn.functional.adaptive_avg_pool2d(x, 1).flatten(1)
        return self.classifier(x)


def mobilenet_v1(num_classes=1000, width_mult=1.0, dropout=0.2, stem='imagenet'):
    """${CIFAR_NOTE}"""
    return MobileNetV1(num_classes=num_classes, width_mult=width_mult, dropout=dropout, stem=stem)
`,
};

const MOBILENET_V2: FamilyPy = {
  imports: 'from torchvision.models import MobileNetV2',
  builder: 'mobilenet_v2',
  code: String.raw`
# torchvision's default inverted residual setting: t (expansion), c (channels), n (repeats), s (stride).
DEFAULT_SETTING = [[1, 16, 1, 1], [6, 24, 2, 2], [6, 32, 3, 2], [6, 64, 4, 2], [6, 96, 3, 1], [6, 160, 3, 2], [6, 320, 1, 1]]


def mobilenet_v2(num_classes=1000, width_mult=1.0, round_nearest=8, inverted_residual_setting=None, dropout=0.2, stem='imagenet'):
    """torchvision's MobileNetV2. ${CIFAR_NOTE}"""
    setting = [list(row) for row in (inverted_residual_setting or DEFAULT_SETTING)]
    if stem == 'cifar':
        next(row for row in setting if row[3] > 1)[3] = 1
    model = MobileNetV2(num_classes=num_classes, width_mult=width_mult, inverted_residual_setting=setting,
                        round_nearest=round_nearest, dropout=dropout)
    if stem == 'cifar':
        model.features[0][0].stride = (1, 1)
    return model
`,
};

const mobileNetV3 = (arch: 'large' | 'small'): FamilyPy => ({
  imports: 'from torchvision.models.mobilenetv3 import MobileNetV3, _mobilenet_v3_conf',
  builder: `mobilenet_v3_${arch}`,
  code: String.raw`
def mobilenet_v3_${arch}(num_classes=1000, width_mult=1.0, reduced_tail=False, dilated=False, dropout=0.2, stem='imagenet'):
    """torchvision's MobileNetV3-${arch === 'large' ? 'Large' : 'Small'} (BatchNorm eps 0.001, momentum 0.01). ${CIFAR_NOTE}"""
    setting, last_channel = _mobilenet_v3_conf('mobilenet_v3_${arch}', width_mult=width_mult, reduced_tail=reduced_tail, dilated=dilated)
    if stem == 'cifar':
        next(c for c in setting if c.stride > 1).stride = 1
    model = MobileNetV3(setting, last_channel, num_classes=num_classes, dropout=dropout)
    if stem == 'cifar':
        model.features[0][0].stride = (1, 1)
    return model
`,
});

const SHUFFLENET_V1: FamilyPy = {
  imports: 'import torch\nfrom torch import nn\nimport torch.nn.functional as F',
  builder: 'shufflenet_v1',
  code: String.raw`
class ShuffleV1Block(nn.Module):
    """megvii ShuffleNet-Series ShuffleNetV1/blocks.py: channel shuffle after the depthwise conv, in megvii's
    order reshape(b, c/g, g, h, w).permute(0, 2, 1, 3, 4) (torchvision's ShuffleNetV2 uses the other one)."""

    def __init__(self, inp, oup, group, first_group, mid_channels, stride):
        super().__init__()
        self.stride = stride
        self.group = group
        outputs = oup - inp if stride == 2 else oup
        self.branch_main_1 = nn.Sequential(
            nn.Conv2d(inp, mid_channels, 1, 1, 0, groups=1 if first_group else group, bias=False),
            nn.BatchNorm2d(mid_channels),
            nn.ReLU(inplace=True),
            nn.Conv2d(mid_channels, mid_channels, 3, stride, 1, groups=mid_channels, bias=False),
            nn.BatchNorm2d(mid_channels),
        )
        self.branch_main_2 = nn.Sequential(
            nn.Conv2d(mid_channels, outputs, 1, 1, 0, groups=group, bias=False),
            nn.BatchNorm2d(outputs),
        )
        if stride == 2:
            self.branch_proj = nn.AvgPool2d(kernel_size=3, stride=2, padding=1)

    def channel_shuffle(self, x):
        b, c, h, w = x.shape
        x = x.reshape(b, c // self.group, self.group, h, w).permute(0, 2, 1, 3, 4)
        return x.reshape(b, c, h, w)

    def forward(self, old_x):
        x = self.branch_main_1(old_x)
        if self.group > 1:
            x = self.channel_shuffle(x)
        x = self.branch_main_2(x)
        if self.stride == 1:
            return F.relu(x + old_x)
        return torch.cat((self.branch_proj(old_x), F.relu(x)), 1)


class ShuffleNetV1(nn.Module):
    """megvii ShuffleNet-Series ShuffleNetV1/network.py with the stage channels given; the head is global
    average pooling (megvii's AvgPool2d(7) at 224x224, any input size here). stem='cifar': first_conv has
    stride 1 and the max-pool is left out."""

    def __init__(self, stage_out_channels, groups, num_classes=1000, stem='imagenet'):
        super().__init__()
        inp = stage_out_channels[0]
        self.first_conv = nn.Sequential(
            nn.Conv2d(3, inp, 3, 1 if stem == 'cifar' else 2, 1, bias=False), nn.BatchNorm2d(inp), nn.ReLU(inplace=True))
        self.maxpool = nn.Identity() if stem == 'cifar' else nn.MaxPool2d(kernel_size=3, stride=2, padding=1)
        features = []
        for stage, repeats in enumerate([4, 8, 4]):
            oup = stage_out_channels[stage + 1]
            for i in range(repeats):
                features.append(ShuffleV1Block(inp, oup, groups, stage == 0 and i == 0, oup // 4, 2 if i == 0 else 1))
                inp = oup
        self.features = nn.Sequential(*features)
        self.classifier = nn.Sequential(nn.Linear(inp, num_classes, bias=False))

    def forward(self, x):
        x = self.maxpool(self.first_conv(x))
        x = self.features(x)
        x = F.adaptive_avg_pool2d(x, 1).flatten(1)
        return self.classifier(x)


def shufflenet_v1(stage_out_channels, groups=3, num_classes=1000, stem='imagenet'):
    return ShuffleNetV1(stage_out_channels, groups, num_classes=num_classes, stem=stem)
`,
};

const shuffleNetV2 = (size: string): FamilyPy => ({
  imports: 'import torchvision\nfrom torch import nn',
  builder: `shufflenet_v2_${size}`,
  code: String.raw`
def shufflenet_v2_${size}(num_classes=1000, stem='imagenet'):
    """torchvision's ShuffleNetV2 ${size}. stem='cifar': conv1 has stride 1 and the max-pool is left out."""
    model = torchvision.models.shufflenet_v2_${size}(num_classes=num_classes)
    if stem == 'cifar':
        model.conv1[0].stride = (1, 1)
        model.maxpool = nn.Identity()
    return model
`,
});

const FAMILIES: Record<string, FamilyPy> = {
  mobilenet_v1: MOBILENET_V1,
  mobilenet_v2: MOBILENET_V2,
  mobilenet_v3_large: mobileNetV3('large'),
  mobilenet_v3_small: mobileNetV3('small'),
  shufflenet_v1: SHUFFLENET_V1,
  shufflenet_v2_x0_5: shuffleNetV2('x0_5'),
  shufflenet_v2_x1_0: shuffleNetV2('x1_0'),
  shufflenet_v2_x1_5: shuffleNetV2('x1_5'),
  shufflenet_v2_x2_0: shuffleNetV2('x2_0'),
};

export const PYTORCH_MODELS: readonly string[] = Object.keys(FAMILIES);

/** model.py for model `name` built with these Python keyword arguments (rendered literals). */
export function modelPy(name: string, kwargs: [string, string][], header: string): string {
  const f = FAMILIES[name];
  if (!f) throw new Error(`export --pytorch: no PyTorch definition of model '${name}' (known: ${PYTORCH_MODELS.join(', ')})`);
  const args = kwargs.map(([k, v]) => `${k}=${v}`).join(', ');
  return `"""${header}"""
${f.imports}

${f.code.trim()}


def build_model():
    """The network of the exported checkpoint, untrained (load weights.pth into it)."""
    return ${f.builder}(${args})
`;
}
