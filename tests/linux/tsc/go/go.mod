module tscgo

go 1.19
