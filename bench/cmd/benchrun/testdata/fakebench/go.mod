module fakebench

go 1.26
