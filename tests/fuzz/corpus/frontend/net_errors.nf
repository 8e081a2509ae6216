flow f(dim = 2) {
  coupling affine(mask = alternate) {
    net = mlp(hidden = [64, 0], act = rellu, depth = 3)
# expect: 3:29: error: hidden layer width must be an integer >= 1, found 0
# expect: 3:39: error: unknown activation 'rellu'; did you mean 'relu'?
# expect: 3:46: error: unknown argument 'depth' for 'mlp'
    net = resnet
# expect: 7:5: error: duplicate 'net' in coupling block
  }
  coupling affine(mask = alternate) { net = mlpp(hidden = 64) }
# expect: 10:45: error: unknown network 'mlpp(...)'; did you mean 'mlp'?
}
