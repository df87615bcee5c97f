module github.com/go-conflict/conflict/bench

go 1.23

require github.com/go-conflict/conflict v0.0.0

replace github.com/go-conflict/conflict => ../
