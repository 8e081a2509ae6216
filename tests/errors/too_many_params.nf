# Parameters are bounded (training keeps several copies of them).
flow m(dim = 4096) {
  coupling affine(mask = alternate) { net = mlp(hidden = [8192, 8192]) }
# expect: 3:3: error: flow has too many parameters: 117460992 (limit 33554432)
}
