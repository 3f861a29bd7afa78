/** `mobilezoo train`. */
import { Command, Option } from 'commander';
import { DATASET_NAMES } from '../../data/index.js';
import { MONITORS, NO_RECIPE, OPTIMIZER_TYPES, RECIPES, type TrainSettings } from '../../workflow/config.js';
import { SCHEDULE_TYPES } from '../../train/schedules.js';
import { AUTO_AUGMENT_POLICIES } from '../../data/transforms-augment.js';
import { inspectPretrained } from '../../workflow/index.js';
import { UsageError, addModelFlags, explicit, modelName, modelOptionsFrom, nonNegativeInt, nonNegativeNumber, numberIn, numberList, oneOf, positiveInt, positiveNumber, threadCount, threadsCap, workerCount, workersCap } from '../parse.js';
import { type CommandEnv, runTraining, flagOf, weightsFile, RESUMABLE } from '../context.js';

export function addTrainCommand(program: Command, { ctx, io }: CommandEnv): void {
  const trainCmd = addModelFlags(
    program
      .command('train')
      .description('train a model; writes checkpoints, metrics.csv, charts and report.html into --out')
      .option('--model <name>', 'model (default mobilenet_v2)', modelName('--model')),
  )
    .option('--input <size>', 'training resolution (default 32 with the CIFAR stem, else the model\'s 224)', positiveInt('--input'))
    .option('--dataset <name>', `${DATASET_NAMES.join(' | ')} (default cifar10)`, oneOf('--dataset', DATASET_NAMES))
    .option('--data <dir>', 'directory searched first for the dataset (the image root for folder)')
    .option('--download', 'download the dataset if it is not found (never done otherwise)')
    .option('--allow-single-class', 'train on a dataset of one class (otherwise an error: every prediction would be that class)')
    .option('--epochs <n>', 'epochs (default 15; recipes set their own)', positiveInt('--epochs'))
    .option('--batch-size <n>', 'batch size (default 128)', positiveInt('--batch-size'))
    .option('--optimizer <name>', `${OPTIMIZER_TYPES.join(' | ')} (default adam)`, oneOf('--optimizer', OPTIMIZER_TYPES))
    .option('--lr <x>', 'learning rate (default 1e-3)', positiveNumber('--lr'))
    .option('--momentum <x>', 'momentum of sgd / rmsprop (default 0.9)', numberIn('--momentum', 0, 1))
    .option('--weight-decay <x>', 'weight decay (default 0; L2 for adam, decoupled for adamw)', nonNegativeNumber('--weight-decay'))
    .option('--nesterov', 'Nesterov momentum (sgd)')
    .option('--schedule <name>', `${SCHEDULE_TYPES.join(' | ')} (default constant)`, oneOf('--schedule', SCHEDULE_TYPES))
    .option('--gamma <x>', 'decay factor of the step (0.1) / exponential (0.98) schedules', numberIn('--gamma', 0, 1.000001, true))
    .option('--step-size <epochs>', 'epochs between step-schedule decays (default epochs/3)', positiveNumber('--step-size'))
    .option('--warmup <epochs>', 'linear learning-rate warmup, in epochs (default 0)', nonNegativeNumber('--warmup'))
    .option('--label-smoothing <x>', 'label smoothing (default 0)', numberIn('--label-smoothing', 0, 1))
    .option('--no-augment', 'no training augmentation (random crop / flip), and none of the recipe\'s')
    .option('--random-erasing <p>', "torchvision's RandomErasing on training images with probability p (default 0)", numberIn('--random-erasing', 0, 1))
    .option('--random-resized-crop [min,max]', "torchvision's RandomResizedCrop in place of the random crop: area fraction in [min, max] (default 0.08,1), aspect ratio 3/4-4/3", numberList('--random-resized-crop'))
    .option('--no-random-resized-crop', "the random crop, not the recipe's RandomResizedCrop")
    .option('--color-jitter <b[,c,s[,hue]]>', "torchvision's ColorJitter: one value for brightness, contrast and saturation (e.g. 0.4), or each, and hue (<= 0.5)", numberList('--color-jitter'))
    .option('--auto-augment <policy>', `torchvision's AutoAugment: ${AUTO_AUGMENT_POLICIES.join(' | ')}`, oneOf('--auto-augment', AUTO_AUGMENT_POLICIES))
    .option('--rand-augment [n,m]', "torchvision's RandAugment: n ops at magnitude m of 31 bins (default 2,9)", numberList('--rand-augment'))
    .option('--trivial-augment', "torchvision's TrivialAugmentWide")
    .option('--no-trivial-augment', "no augmentation policy (any policy flag replaces the recipe's policy)")
    .option('--mixup <alpha>', 'mixup of each batch with its reverse, weight ~ Beta(alpha, alpha) (e.g. 0.2); the loss takes the mixed labels', nonNegativeNumber('--mixup'))
    .option('--cutmix <alpha>', 'cutmix of each batch with its reverse, box area ~ Beta(alpha, alpha) (e.g. 1.0)', nonNegativeNumber('--cutmix'))
    .option('--mix-prob <p>', 'probability that a batch is mixed (default 1)', numberIn('--mix-prob', 0, 1.000001))
    .option('--mix-switch-prob <p>', 'with --mixup and --cutmix: probability of cutmix for a mixed batch (default 0.5)', numberIn('--mix-switch-prob', 0, 1.000001))
    .option('--seed <n>', 'seed of the initialization, data order, augmentation and dropout (default 0)', nonNegativeInt('--seed'))
    .option('--threads <n>', `ONNX Runtime intra-op threads (default: all cores) (${threadsCap()})`, threadCount('--threads'))
    .option('--workers <n>', `data-loading worker threads (default 1; 0 = main thread) (${workersCap()})`, workerCount('--workers'))
    .option('--out <dir>', 'output folder (default runs/<model>-<dataset>-<timestamp>)')
    .option('--save-every <n>', 'checkpoint every N epochs (default 5; a "last" one is always written)', positiveInt('--save-every'))
    .option('--resume <checkpoint>', 'continue a run from its checkpoint-*.json (same settings; --epochs may extend it)')
    .option('--limit <n>', 'use only the first N training and first ceil(N/5) test images', positiveInt('--limit'))
    .option('--test-limit <n>', 'use only the first N test images', positiveInt('--test-limit'))
    .option('--minutes <m>', 'wall-clock budget: the schedule follows the clock (its --epochs shape, decay ending when time is up) and training stops there', positiveNumber('--minutes'))
    .option('--ema <decay>', 'evaluate and save an exponential moving average of the weights, e.g. 0.999 (warmed up: min(decay, (1+k)/(10+k)) after k steps)', numberIn('--ema', 0, 1, true))
    .option('--pretrained <file|name>', 'fine-tune from these weights: a checkpoint-*.json, a state dict (.pth, .pth.tar, .safetensors) for --model, or published weights by name (mobilenet_v3_large, mobilenet_v2.IMAGENET1K_V1: see mobilezoo weights), downloaded once into the cache; tensors that match by name and shape load, the rest (a new classifier) is initialized; input size and normalization default to the source\'s')
    .option('--no-check-hash', 'use --pretrained weights whose file name\'s sha256 prefix does not match their content (torch.hub\'s check_hash, on by default)')
    .option('--freeze <what>', 'none | backbone (everything but the classifier) | a module path such as features.12 (it and everything before it): frozen layers run in inference mode, BatchNorm statistics kept, and get no gradient (default none)')
    .option('--unfreeze-at <epoch>', 'from this epoch (1-based) on, nothing is frozen', positiveInt('--unfreeze-at'))
    .option('--no-feature-cache', 'with --freeze backbone and no augmentation: run the whole network at every step instead of training the classifier on embeddings computed once (same results, slower)')
    .option('--backbone-lr-mult <m>', 'learning-rate factor for everything but the classifier (default 1)', positiveNumber('--backbone-lr-mult'))
    .option('--val-split <f>', 'fraction of the training split held out for validation, seeded and stratified by class (default 0.1; 0: none, the test split is then evaluated every epoch); a folder with train/, val/ and test/ validates on val/', numberIn('--val-split', 0, 1))
    .option('--monitor <what>', `${MONITORS.join(' | ')}: chooses checkpoint-best and drives early stopping (default val_loss)`, oneOf('--monitor', MONITORS))
    .option('--early-stopping <patience>', 'stop when the monitored value has not improved for this many epochs', positiveInt('--early-stopping'))
    .option('--min-delta <x>', 'with --early-stopping: the smallest change that counts as an improvement (default 0)', nonNegativeNumber('--min-delta'))
    .option('--eval-test-every <n>', 'also evaluate the test split every N epochs (default: at the end only, on checkpoint-best; never used to choose)', positiveInt('--eval-test-every'))
    .addOption(new Option('--recipe <name>', `preset: ${Object.entries(RECIPES).map(([k, r]) => `${k} (${r.description})`).join('; ')}; ${NO_RECIPE}: the plain defaults`).argParser(oneOf('--recipe', [...Object.keys(RECIPES), NO_RECIPE])))
    .action(async (o: Record<string, unknown>, cmd: Command) => {
      const given = explicit(cmd);
      if (given.resume) {
        const bad = Object.keys(given).filter((k) => !RESUMABLE.has(k));
        if (bad.length) throw new UsageError(`${flagOf(bad[0]!)}: cannot be changed when resuming (a resumed run keeps its checkpoint's settings; only --epochs, --out, --threads, --workers, --save-every, --data, --download may be given)`);
        const r = await runTraining(ctx, {
          resume: given.resume as string, epochs: given.epochs as number | undefined, dataDir: given.data as string | undefined, download: given.download ? true : undefined,
          outDir: given.out as string | undefined, saveEvery: o.saveEvery as number | undefined, threads: o.threads as number | undefined, workers: o.workers as number | undefined,
        });
        ctx.code = r.code;
        return;
      }
      const pretrained = o.pretrained ? await inspectPretrained(await weightsFile(o.pretrained as string, '--pretrained', io), { checkHash: o.checkHash !== false }) : undefined;
      if (pretrained && !o.model && !pretrained.model) throw new UsageError(`--model: needed with --pretrained ${o.pretrained as string} (a state dict does not say which model it is for)`);
      const model = (o.model as string | undefined) ?? pretrained?.model ?? 'mobilenet_v2';
      // A checkpoint's model options are the defaults of its fine-tuning run; flags override them.
      const inherited = pretrained?.model === model ? pretrained.modelOptions ?? {} : {};
      const settings: TrainSettings = {
        model,
        modelOptions: { ...inherited, ...modelOptionsFrom(model, o) },
        pretrained,
        freeze: o.freeze as string | undefined,
        unfreezeAt: o.unfreezeAt as number | undefined,
        featureCache: given.featureCache === false ? false : undefined,
        backboneLrMult: o.backboneLrMult as number | undefined,
        dataset: o.dataset as string | undefined,
        dataDir: o.data as string | undefined,
        download: o.download as boolean | undefined,
        allowSingleClass: o.allowSingleClass as boolean | undefined,
        input: o.input as number | undefined,
        epochs: o.epochs as number | undefined,
        batchSize: o.batchSize as number | undefined,
        optimizer: o.optimizer as string | undefined,
        lr: o.lr as number | undefined,
        momentum: o.momentum as number | undefined,
        weightDecay: o.weightDecay as number | undefined,
        nesterov: o.nesterov as boolean | undefined,
        schedule: o.schedule as string | undefined,
        gamma: o.gamma as number | undefined,
        stepSize: o.stepSize as number | undefined,
        warmup: o.warmup as number | undefined,
        labelSmoothing: o.labelSmoothing as number | undefined,
        augment: given.augment === false ? false : undefined,
        randomErasing: o.randomErasing as number | undefined,
        randomResizedCrop: o.randomResizedCrop as boolean | number[] | undefined,
        colorJitter: o.colorJitter as number[] | undefined,
        autoAugment: o.autoAugment as string | undefined,
        randAugment: o.randAugment as boolean | number[] | undefined,
        trivialAugment: o.trivialAugment as boolean | undefined,
        mixup: o.mixup as number | undefined,
        cutmix: o.cutmix as number | undefined,
        mixProb: o.mixProb as number | undefined,
        mixSwitchProb: o.mixSwitchProb as number | undefined,
        seed: o.seed as number | undefined,
        limit: o.limit as number | undefined,
        testLimit: o.testLimit as number | undefined,
        ema: o.ema as number | undefined,
        minutes: o.minutes as number | undefined,
        recipe: o.recipe as string | undefined,
        valSplit: o.valSplit as number | undefined,
        monitor: o.monitor as string | undefined,
        earlyStopping: o.earlyStopping as number | undefined,
        minDelta: o.minDelta as number | undefined,
        evalTestEvery: o.evalTestEvery as number | undefined,
      };
      if (settings.modelOptions!.numClasses !== undefined) throw new UsageError('--classes: not used by train (the dataset sets the classes)');
      const r = await runTraining(ctx, { ...settings, outDir: o.out as string | undefined, saveEvery: o.saveEvery as number | undefined, threads: o.threads as number | undefined, workers: o.workers as number | undefined });
      ctx.code = r.code;
    });
  trainCmd.addHelpText('after', '\nRecipes set defaults that explicit flags override, each its own setting (cifar and fashion-mnist also default --dataset to cifar10 / fashion-mnist, fine-tune to folder); a policy flag replaces the recipe\'s policy, --no-augment drops all its augmentations, another --optimizer its momentum and constants. From ImageNet weights (--pretrained NAME, or a 1000-class state dict) the recipe is fine-tune unless --recipe says otherwise (--recipe none: the plain defaults). Grayscale datasets are replicated to 3 channels and padded to 32x32; small datasets use --stem cifar unless another stem is given (then images are resized to --input, default 224).');
}
