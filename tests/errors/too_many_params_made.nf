# A MADE over the parameter limit is refused before any of its nodes exist
# (the count is a lower bound: declaring stops at the tensor that crosses).
flow m(dim = 4096) {
  maf affine { net = made(hidden = [65536, 65536]) }
# expect: 4:3: error: flow has too many parameters: at least 268500992 (limit 33554432)
}
