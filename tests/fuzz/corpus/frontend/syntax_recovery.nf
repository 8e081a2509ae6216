# Several syntax errors in one run: each statement recovers on its own.
transform f(x s) = x
# expect: 2:15: error: expected ';' after the input variable name, found 's'
flow m(dim = 2) {
  coupling f(mask = alternate
# expect: 5:30: error: expected ',' or ')' after an argument, found end of line
  permute [1, 0
# expect: 7:16: error: expected ',' or ']' in a list, found end of line
  map {
    z0 = (x0 + 1
# expect: 10:17: error: expected ')', found end of line
    z1 = x1
  }
}
