module github.com/accordchat/accord/bench

go 1.26.0

replace (
	github.com/accordchat/accord/gen => ../gen
	github.com/accordchat/accord/platform => ../platform
)
