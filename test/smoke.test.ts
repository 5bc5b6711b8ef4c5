import test from 'ava';
test('smoke', (t) => { t.is(1 + 1, 2); });
