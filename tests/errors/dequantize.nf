# dequantize: integer levels >= 2, the flow's first layer, no block; the
# squeezed logit's alpha in [0, 0.5); an image of 1 or 3 channels.
flow f(dim = 4, image = [2, 2, 2]) {
# expect: 3:32: error: an image has 1 channel (grey) or 3 (RGB), not 2
  dequantize(levels = 1)
# expect: 5:23: error: 'levels' must be an integer >= 2, found 1
  dequantize
# expect: 7:3: error: missing argument 'levels' for 'dequantize'
  dequantize(levels = 256) { net = mlp(hidden = [8]) }
# expect: 9:30: error: 'dequantize' takes no network
  elementwise logit(alpha = 0.5)
# expect: 11:29: error: 'alpha' must be a number in [0, 0.5), found number 0.5
  elementwise logit(beta = 0.1)
# expect: 13:21: error: unknown argument 'beta' for function 'logit'
  elementwise exp(alpha = 0.1)
# expect: 15:19: error: function 'exp' takes no parameters
  repeat 2 { dequantize(levels = 4) }
# expect: 17:14: error: 'dequantize' must be the flow's first layer, outside 'repeat': it makes the integer data continuous before any other layer reads them
}
