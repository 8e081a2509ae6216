# One '}' is missing: it closes the repeat, so the flow's block is open.
flow f(dim = 2) {
# expect: 2:17: error: unterminated block: expected '}'
  repeat 2 {
    coupling affine(mask = alternate)
    permute reverse
}
