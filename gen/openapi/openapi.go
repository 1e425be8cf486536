// Package openapi embeds the OpenAPI 2 document generated from proto/ for all
// Accord services, merged into one file.
package openapi

import _ "embed"

// JSON is the merged OpenAPI 2 (Swagger) document.
//
//go:embed accord.swagger.json
var JSON []byte
