# Parameter and let names are unique across the flow's parameters and the
# map's own, and may not be input or output names or functions.
flow f(dim = 2) {
  param a = 1, b = 2
  param a = 3
# expect: 5:9: error: 'a' is already declared on line 4 as a flow parameter
  param x0 = 1, z1 = 2, exp = 3, where = 4
# expect: 7:9: error: a parameter cannot be named 'x0': x0, x1, ... are the inputs and z0, z1, ... the outputs
# expect: 7:17: error: a parameter cannot be named 'z1': x0, x1, ... are the inputs and z0, z1, ... the outputs
# expect: 7:25: error: a parameter cannot be named 'exp': it is a function
# expect: 7:34: error: a parameter cannot be named 'where': it is a function
  map {
    param b = 1, c = 2, c = 3
# expect: 13:11: error: 'b' is already declared on line 4 as a flow parameter
# expect: 13:25: error: 'c' is already declared on line 13 as a parameter of this map
    let c = x0
# expect: 16:9: error: 'c' is already declared on line 13 as a parameter of this map
    let r = x0; let r = x1; let x1 = 2; let log = 1
# expect: 18:21: error: 'r' is already declared on line 18 as a let
# expect: 18:33: error: a let cannot be named 'x1': x0, x1, ... are the inputs and z0, z1, ... the outputs
# expect: 18:45: error: a let cannot be named 'log': it is a function
    z0 = x0 * a * b * c + r
    z1 = x1
  }
}
