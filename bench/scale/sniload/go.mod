module sniload

go 1.19
