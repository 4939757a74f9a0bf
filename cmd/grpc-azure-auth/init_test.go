package main

import (
	"bytes"
	"errors"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestInitRefusesWhatItCannotDoBeforeWritingAnything(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "orders")
	tests := []struct {
		name string
		args []string
		want string
	}{
		{"no directory", []string{"-module", "example.com/orders"}, "needs DIR and -module PATH"},
		{"no module path", []string{dir}, "needs DIR and -module PATH"},
		{"an argument after the directory", []string{"-module", "example.com/orders", dir, "extra"}, "needs DIR and -module PATH"},
		{"a checkout without a version and no -replace", []string{dir, "-module", "example.com/orders"}, "no library version"},
		{"a -replace that is not the library", []string{dir, "-module", "example.com/orders", "-replace", t.TempDir()}, "not a checkout"},
		{"an unknown flag", []string{dir, "-modul", "example.com/orders"}, "flag provided but not defined"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var stderr bytes.Buffer
			err := initModule(tt.args, &stderr)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("init %s: %v, want an error containing %q", strings.Join(tt.args, " "), err, tt.want)
			}
			if _, err := os.Stat(dir); !os.IsNotExist(err) {
				t.Errorf("%s was written (%v)", dir, err)
			}
		})
	}
}

func TestInitHelpListsItsFlags(t *testing.T) {
	var stderr bytes.Buffer
	if err := initModule([]string{"-h"}, &stderr); !errors.Is(err, flag.ErrHelp) {
		t.Fatalf("init -h: %v, want flag.ErrHelp", err)
	}
	for _, want := range []string{"-module", "-replace", "-name", "usage: grpc-azure-auth init DIR"} {
		if !strings.Contains(stderr.String(), want) {
			t.Errorf("init -h does not mention %s:\n%s", want, &stderr)
		}
	}
}
