module ssecast.example/goserver

go 1.19
