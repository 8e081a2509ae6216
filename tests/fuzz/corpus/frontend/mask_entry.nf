flow f(dim = 3) {
  coupling affine(mask = [0, 2, 1])
# expect: 2:30: error: mask entries must be 0 or 1, found number 2
  coupling affine(mask = [0, 1, x])
# expect: 4:33: error: mask entries must be 0 or 1, found 'x'
}
