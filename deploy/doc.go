// Package deploy checks the production topology (docker compose, images).
package deploy
