module github.com/go-conflict/conflict

go 1.23
