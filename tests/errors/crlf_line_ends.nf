# CR LF line ends: lines and columns as with LF.
flow m(dim = 2) {
  permute reverse
  coupl affine(mask = alternate)
# expect: 4:3: error: unknown layer 'coupl'; did you mean 'coupling'?
}
