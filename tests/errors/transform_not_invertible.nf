# A transform's inverse is derived when it is used; these have none nfc can derive.
transform twice(x; s) = x * exp(s) + tanh(x)
# expect: 2:11: error: cannot invert transform 'twice': the input occurs more than once
transform fold(x; s) = sqrt(x * x + s)
transform flat(x; s) = x * 0 + s
# expect: 5:11: error: transform 'flat' has a zero derivative in 'x' and cannot be inverted

flow f(dim = 2) {
  coupling twice(mask = alternate)
  coupling flat(mask = alternate)
  coupling twice(mask = alternate)
}
