/** Dataset classes → model outputs: by position when the lists are the same, else by normalized name. */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { FASHION_MNIST_CLASSES } from '../../src/data/mnist.js';
import { mapClasses, normalizeClassName } from '../../src/workflow/class-map.js';

describe('mapClasses', () => {
  test('folder names written by hand map to Fashion-MNIST\'s names', () => {
    assert.equal(normalizeClassName('T-shirt/top'), normalizeClassName('tshirt_top'));
    assert.equal(normalizeClassName('Ankle boot'), normalizeClassName('ankle_boot'));
    const folder = ['ankle_boot', 'bag', 'coat', 'dress', 'pullover', 'sandal', 'shirt', 'sneaker', 'trouser', 'tshirt_top'];
    const map = mapClasses(folder, [...FASHION_MNIST_CLASSES]);
    assert.deepEqual(folder.map((_, i) => FASHION_MNIST_CLASSES[map[i]!]), ['Ankle boot', 'Bag', 'Coat', 'Dress', 'Pullover', 'Sandal', 'Shirt', 'Sneaker', 'Trouser', 'T-shirt/top']);
  });

  test('identical lists map by position; a subset maps to its classes', () => {
    assert.deepEqual(mapClasses(['a', 'b'], ['a', 'b']), [0, 1]);
    assert.deepEqual(mapClasses(['bag', 'sneaker'], [...FASHION_MNIST_CLASSES]), [8, 7]);
  });

  test('an unmappable class fails listing both sets, unless by index', () => {
    assert.throws(() => mapClasses(['bag', 'hat'], [...FASHION_MNIST_CLASSES], { dataset: 'folder:shop', model: 'mobilenet_v2' }), (e: Error) => {
      assert.match(e.message, /the classes of folder:shop do not match those of mobilenet_v2/);
      assert.match(e.message, /no model class for: "hat"/);
      assert.match(e.message, /dataset classes: "bag", "hat"/);
      assert.match(e.message, /model classes: {3}"T-shirt\/top", "Trouser"/);
      assert.match(e.message, /--by-index/);
      return true;
    });
    assert.deepEqual(mapClasses(['x', 'y'], ['a', 'b', 'c'], { byIndex: true }), [0, 1]);
    assert.throws(() => mapClasses(['x', 'y', 'z'], ['a', 'b'], { byIndex: true }), /has 3 classes, the model only 2 outputs/);
  });

  test('two dataset classes on one model class, or a name two model classes share, are errors', () => {
    assert.throws(() => mapClasses(['Bag', 'bag!'], [...FASHION_MNIST_CLASSES]), /both model class "Bag"/);
    assert.throws(() => mapClasses(['ab'], ['a-b', 'a_b']), /more than one model class for: ab \(a-b \/ a_b\)/);
  });
});
