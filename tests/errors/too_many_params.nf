# Parameters are bounded (training keeps several copies of them).
flow m(dim = 4096) {
  coupling affine(mask = alternate) { net = mlp(hidden = [65536, 65536]) }
# expect: 3:3: error: flow has too many parameters: at least 134283264 (limit 33554432)
}
