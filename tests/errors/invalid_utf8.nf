# Bytes that are not UTF-8 are reported escaped, one error each.
flow m(dim = 2) {
  permute reverse ÿÃ(
  map { z0 = x0 Î»; z1 = x1 }
# expect: 3:19: error: unexpected character '\xff'
# expect: 3:20: error: unexpected character '\xc3'
# expect: 4:17: error: unexpected character 'Î»'
}
