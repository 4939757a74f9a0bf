// Package bench compares grpc-azure-auth's token validation with its Go
// peers and with the physical floor, a bare RSA verify. It is a module of
// its own so that library users never inherit the peers as dependencies.
//
//	make bench   # runs every benchmark and writes the benchstat tables
package bench
