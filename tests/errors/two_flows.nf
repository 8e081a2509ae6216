flow first(dim = 2) {
  permute reverse
}
flow second(dim = 2) {
# expect: 4:6: error: second flow 'second': a file holds exactly one flow
  permute reverse
}
