# A transform cannot call itself or another transform: they are not functions.
transform f(x; a) = f(x, a) + x
transform g(x; a) = h(x, a) * 2
transform h(x; a) = g(x, a) - 1
transform k(x; s) = affine(x, s, s)
# expect: 2:21: error: cannot call transform 'f': transforms are applied by coupling layers, not called in expressions
# expect: 3:21: error: cannot call transform 'h': transforms are applied by coupling layers, not called in expressions
# expect: 4:21: error: cannot call transform 'g': transforms are applied by coupling layers, not called in expressions
# expect: 5:21: error: cannot call transform 'affine': transforms are applied by coupling layers, not called in expressions
flow m(dim = 2) { coupling f(mask = alternate) }
