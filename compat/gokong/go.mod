module github.com/kvsync/kvsync/compat/gokong

go 1.26.8

require (
	github.com/google/go-cmp v0.7.0
	github.com/kong/go-kong v0.77.0
	github.com/kvsync/kvsync v0.0.0
)

require (
	github.com/google/go-querystring v1.1.0 // indirect
	github.com/google/uuid v1.6.0 // indirect
	github.com/imdario/mergo v0.3.16 // indirect
	github.com/kong/semver/v4 v4.0.1 // indirect
	github.com/mitchellh/mapstructure v1.5.0 // indirect
	github.com/tidwall/gjson v1.18.0 // indirect
	github.com/tidwall/match v1.1.1 // indirect
	github.com/tidwall/pretty v1.2.1 // indirect
	golang.org/x/time v0.16.0 // indirect
)

replace github.com/kvsync/kvsync => ../..
