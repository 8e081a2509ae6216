# A let may use the lets before it; outputs use the lets written above them.
# Lets and map parameters belong to their own map.
flow f(dim = 2) {
  map {
    param c = 2
    z0 = x0 + s
# expect: 6:15: error: let 's' is used before its definition on line 11
    let r = x0 * s + r
# expect: 8:18: error: let 's' is used before its definition on line 11
# expect: 8:22: error: let 'r' is used in its own definition
    let s = 2 * x0
    z1 = x1 + r + s + c
  }
  map { z0 = x0 * c; z1 = x1 + r }
# expect: 14:19: error: 'c' is a parameter of the map on line 4; declare it at the top level of the flow to share it between maps
# expect: 14:32: error: 'r' is a let of the map on line 4; a let can only be used in its own map
}
