package main

import "github.com/grpc-azure-auth/grpc-azure-auth/devidp"

// The development tenant's users and daemons, with the scopes and app roles
// an administrator would grant them in Entra: `go run .` signs them in, and
// the tests issue their tokens.
var (
	ann = devidp.User{Name: "Ann Author", Username: "ann", ObjectID: "5d4e6f70-8192-4ca3-8eb5-f60718293a45", Password: "dev",
		Scopes: []string{"Notes.Read", "Notes.ReadWrite", "Notes.Share"}}
	ben = devidp.User{Name: "Ben Reader", Username: "ben", ObjectID: "6e5f7081-92a3-4db4-9fc6-0718293a4b56", Password: "dev",
		Scopes: []string{"Notes.Read"}}
	backupDaemon = devidp.App{Name: "Backup daemon", ClientID: "backup-daemon", ClientSecret: "dev-secret",
		ObjectID: "7f608192-a3b4-4ec5-a0d7-18293a4b5c67", Roles: []string{"Notes.Export"}}
	offboardingDaemon = devidp.App{Name: "Offboarding daemon", ClientID: "offboarding-daemon", ClientSecret: "dev-secret",
		ObjectID: "80719203-b4c5-4fd6-b1e8-293a4b5c6d78", Roles: []string{"Notes.Admin"}}
)
