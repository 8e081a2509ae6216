# repeat blocks nested beyond the limit.
flow f(dim = 2) {
repeat 1 {
repeat 1 {
repeat 1 {
repeat 1 {
repeat 1 {
repeat 1 {
repeat 1 {
repeat 1 {
repeat 1 {
repeat 1 {
repeat 1 {
repeat 1 {
repeat 1 {
repeat 1 {
repeat 1 {
repeat 1 {
repeat 1 {
repeat 1 {
repeat 1 {
repeat 1 {
repeat 1 {
repeat 1 {
repeat 1 {
repeat 1 {
repeat 1 {
repeat 1 {
repeat 1 {
repeat 1 {
repeat 1 {
repeat 1 {
repeat 1 {
repeat 1 {
repeat 1 {
repeat 1 {
repeat 1 {
repeat 1 {
repeat 1 {
repeat 1 {
repeat 1 {
repeat 1 {
repeat 1 {
repeat 1 {
repeat 1 {
repeat 1 {
repeat 1 {
repeat 1 {
repeat 1 {
repeat 1 {
repeat 1 {
repeat 1 {
repeat 1 {
repeat 1 {
repeat 1 {
repeat 1 {
repeat 1 {
repeat 1 {
repeat 1 {
repeat 1 {
repeat 1 {
repeat 1 {
repeat 1 {
repeat 1 {
repeat 1 {
repeat 1 {
repeat 1 {
repeat 1 {
repeat 1 {
repeat 1 {
repeat 1 {
repeat 1 {
repeat 1 {
repeat 1 {
repeat 1 {
repeat 1 {
repeat 1 {
repeat 1 {
repeat 1 {
repeat 1 {
repeat 1 {
repeat 1 {
repeat 1 {
repeat 1 {
repeat 1 {
repeat 1 {
repeat 1 {
repeat 1 {
repeat 1 {
repeat 1 {
repeat 1 {
repeat 1 {
repeat 1 {
repeat 1 {
repeat 1 {
repeat 1 {
repeat 1 {
repeat 1 {
repeat 1 {
repeat 1 {
repeat 1 {
repeat 1 {
repeat 1 {
repeat 1 {
repeat 1 {
repeat 1 {
repeat 1 {
repeat 1 {
repeat 1 {
repeat 1 {
repeat 1 {
repeat 1 {
repeat 1 {
repeat 1 {
repeat 1 {
repeat 1 {
repeat 1 {
repeat 1 {
repeat 1 {
repeat 1 {
repeat 1 {
repeat 1 {
repeat 1 {
repeat 1 {
repeat 1 {
repeat 1 {
repeat 1 {
repeat 1 {
repeat 1 {
repeat 1 {
repeat 1 {
repeat 1 {
repeat 1 {
repeat 1 {
repeat 1 {
repeat 1 {
repeat 1 {
repeat 1 {
repeat 1 {
repeat 1 {
repeat 1 {
repeat 1 {
repeat 1 {
repeat 1 {
repeat 1 {
repeat 1 {
repeat 1 {
repeat 1 {
repeat 1 {
repeat 1 {
repeat 1 {
repeat 1 {
repeat 1 {
repeat 1 {
repeat 1 {
repeat 1 {
repeat 1 {
repeat 1 {
repeat 1 {
repeat 1 {
repeat 1 {
repeat 1 {
repeat 1 {
repeat 1 {
repeat 1 {
repeat 1 {
repeat 1 {
repeat 1 {
repeat 1 {
repeat 1 {
repeat 1 {
repeat 1 {
repeat 1 {
repeat 1 {
repeat 1 {
repeat 1 {
repeat 1 {
repeat 1 {
repeat 1 {
repeat 1 {
repeat 1 {
repeat 1 {
repeat 1 {
repeat 1 {
repeat 1 {
repeat 1 {
repeat 1 {
repeat 1 {
repeat 1 {
repeat 1 {
repeat 1 {
repeat 1 {
repeat 1 {
repeat 1 {
repeat 1 {
repeat 1 {
repeat 1 {
repeat 1 {
repeat 1 {
repeat 1 {
repeat 1 {
repeat 1 {
repeat 1 {
repeat 1 {
repeat 1 {
repeat 1 {
repeat 1 {
repeat 1 {
repeat 1 {
repeat 1 {
repeat 1 {
repeat 1 {
repeat 1 {
repeat 1 {
repeat 1 {
repeat 1 {
repeat 1 {
repeat 1 {
repeat 1 {
repeat 1 {
repeat 1 {
repeat 1 {
repeat 1 {
repeat 1 {
repeat 1 {
repeat 1 {
repeat 1 {
repeat 1 {
repeat 1 {
repeat 1 {
repeat 1 {
repeat 1 {
repeat 1 {
repeat 1 {
repeat 1 {
repeat 1 {
repeat 1 {
repeat 1 {
repeat 1 {
repeat 1 {
repeat 1 {
repeat 1 {
repeat 1 {
repeat 1 {
repeat 1 {
repeat 1 {
repeat 1 {
repeat 1 {
repeat 1 {
repeat 1 {
repeat 1 {
repeat 1 {
repeat 1 {
repeat 1 {
repeat 1 {
repeat 1 {
repeat 1 {
repeat 1 {
repeat 1 {
repeat 1 {
repeat 1 {
repeat 1 {
repeat 1 {
repeat 1 {
repeat 1 {
repeat 1 {
repeat 1 {
repeat 1 {
repeat 1 {
repeat 1 {
repeat 1 {
repeat 1 {
repeat 1 {
repeat 1 {
repeat 1 {
repeat 1 {
repeat 1 {
repeat 1 {
repeat 1 {
repeat 1 {
repeat 1 {
repeat 1 {
repeat 1 {
repeat 1 {
repeat 1 {
repeat 1 {
repeat 1 {
repeat 1 {
repeat 1 {
repeat 1 {
repeat 1 {
repeat 1 {
repeat 1 {
repeat 1 {
repeat 1 {
repeat 1 {
repeat 1 {
repeat 1 {
repeat 1 {
repeat 1 {
repeat 1 {
repeat 1 {
# expect: 258:8: error: nesting too deep (limit 256)
permute reverse
}
}
}
}
}
}
}
}
}
}
}
}
}
}
}
}
}
}
}
}
}
}
}
}
}
}
}
}
}
}
}
}
}
}
}
}
}
}
}
}
}
}
}
}
}
}
}
}
}
}
}
}
}
}
}
}
}
}
}
}
}
}
}
}
}
}
}
}
}
}
}
}
}
}
}
}
}
}
}
}
}
}
}
}
}
}
}
}
}
}
}
}
}
}
}
}
}
}
}
}
}
}
}
}
}
}
}
}
}
}
}
}
}
}
}
}
}
}
}
}
}
}
}
}
}
}
}
}
}
}
}
}
}
}
}
}
}
}
}
}
}
}
}
}
}
}
}
}
}
}
}
}
}
}
}
}
}
}
}
}
}
}
}
}
}
}
}
}
}
}
}
}
}
}
}
}
}
}
}
}
}
}
}
}
}
}
}
}
}
}
}
}
}
}
}
}
}
}
}
}
}
}
}
}
}
}
}
}
}
}
}
}
}
}
}
}
}
}
}
}
}
}
}
}
}
}
}
}
}
}
}
}
}
}
}
}
}
}
}
}
}
}
}
}
}
}
}
}
}
}
}
}
}
}
}
}
}
}
}
}
}
}
}
}
}
}
}
}
}
}
}
}
}
}
}
}
}
}
}
}
}
}
}
}
}
}
}
}
}
}
}
}
}
}
}
}
}
}
}
}
}
