flow f(dim = 12, image = [2, 2, 1]) {
# expect: 1:26: error: an image of 2 x 2 x 1 has 4 values, but the flow's dim is 12
  permute reverse
}
