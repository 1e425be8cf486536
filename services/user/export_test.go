package user

// OpenStore opens the service's stores as New does, for tests that look at
// what the API does not show.
var OpenStore = openStore
