module ingressx.io/dev/go-promoted-literals

go 1.22.0

require golang.org/x/tools v0.26.0

require (
	golang.org/x/mod v0.21.0 // indirect
	golang.org/x/sync v0.8.0 // indirect
)
