package main

import (
	"archive/tar"
	"compress/gzip"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/accordchat/accord/platform/sqlitex"
)

// The database files of the data folder, as patterns of paths relative to
// it: the services' SQLite stores and the embedded FerretDB's files (also
// SQLite) of the services still on MongoDB.
var databasePatterns = []string{"sqlite/*.db", "db/*.sqlite"}

// isDatabasePath reports whether rel (slash-separated) is a database file
// a backup may hold.
func isDatabasePath(rel string) bool {
	if rel != path.Clean(rel) || strings.HasPrefix(rel, "../") || path.IsAbs(rel) {
		return false
	}
	for _, p := range databasePatterns {
		if ok, _ := path.Match(p, rel); ok {
			return true
		}
	}
	return false
}

// databaseFiles lists the database files under dataDir, slash-separated
// and relative to it.
func databaseFiles(dataDir string) ([]string, error) {
	var files []string
	for _, p := range databasePatterns {
		m, err := filepath.Glob(filepath.Join(dataDir, filepath.FromSlash(p)))
		if err != nil {
			return nil, err
		}
		for _, f := range m {
			rel, err := filepath.Rel(dataDir, f)
			if err != nil {
				return nil, err
			}
			files = append(files, filepath.ToSlash(rel))
		}
	}
	slices.Sort(files)
	return files, nil
}

// backup writes every database of dataDir into dest, a gzip-compressed tar
// archive, while Accord may be running: each database is copied from one
// consistent snapshot of its own (sqlitex.BackupFile).
func backup(ctx context.Context, dataDir, dest string, log *slog.Logger) error {
	if _, err := os.Stat(dest); err == nil {
		return fmt.Errorf("backup: %s exists; name a new file", dest)
	}
	files, err := databaseFiles(dataDir)
	if err != nil {
		return fmt.Errorf("backup: %w", err)
	}
	if len(files) == 0 {
		return fmt.Errorf("backup: no database in %s (ACCORD_DATA_DIR); with ACCORD_STORE=mongo back up MongoDB with mongodump", dataDir)
	}
	tmp, err := os.MkdirTemp(filepath.Dir(dest), ".accord-backup-")
	if err != nil {
		return fmt.Errorf("backup: %w", err)
	}
	defer os.RemoveAll(tmp)
	for _, rel := range files {
		if err := sqlitex.BackupFile(ctx, filepath.Join(dataDir, filepath.FromSlash(rel)), filepath.Join(tmp, filepath.FromSlash(rel))); err != nil {
			return fmt.Errorf("backup: %w", err)
		}
	}
	part := filepath.Join(tmp, "archive")
	if err := writeArchive(part, tmp, files); err != nil {
		return fmt.Errorf("backup: %w", err)
	}
	// Renamed into place only when whole: dest never holds half an archive.
	if err := os.Rename(part, dest); err != nil {
		return fmt.Errorf("backup: %w", err)
	}
	log.Info("backup written", "file", dest, "databases", files)
	return nil
}

func writeArchive(name, dir string, files []string) (err error) {
	f, err := os.OpenFile(name, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return err
	}
	defer func() {
		if cerr := f.Close(); err == nil {
			err = cerr
		}
	}()
	zw := gzip.NewWriter(f)
	tw := tar.NewWriter(zw)
	for _, rel := range files {
		if err := addFile(tw, filepath.Join(dir, filepath.FromSlash(rel)), rel); err != nil {
			return err
		}
	}
	if err := tw.Close(); err != nil {
		return err
	}
	if err := zw.Close(); err != nil {
		return err
	}
	return f.Sync()
}

func addFile(tw *tar.Writer, name, rel string) error {
	in, err := os.Open(name)
	if err != nil {
		return err
	}
	defer in.Close()
	st, err := in.Stat()
	if err != nil {
		return err
	}
	if err := tw.WriteHeader(&tar.Header{Name: rel, Mode: 0o600, Size: st.Size(), ModTime: time.Now(), Typeflag: tar.TypeReg}); err != nil {
		return err
	}
	_, err = io.Copy(tw, in)
	return err
}

// restore puts the databases of the archive src (written by backup) into
// dataDir. Accord must be stopped: restore refuses while it runs on
// dataDir. Databases in dataDir that the archive does not hold are moved
// aside (".before-restore"), so the folder holds the backup's state only.
func restore(ctx context.Context, dataDir, src string, log *slog.Logger) error {
	unlock, err := lockDataDir(dataDir)
	if err != nil {
		return fmt.Errorf("restore: %w", err)
	}
	defer unlock()
	tmp, err := os.MkdirTemp(dataDir, ".accord-restore-")
	if err != nil {
		return fmt.Errorf("restore: %w", err)
	}
	defer os.RemoveAll(tmp)
	files, err := extract(src, tmp)
	if err != nil {
		return fmt.Errorf("restore: %s: %w", src, err)
	}
	if len(files) == 0 {
		return fmt.Errorf("restore: %s holds no database", src)
	}
	existing, err := databaseFiles(dataDir)
	if err != nil {
		return fmt.Errorf("restore: %w", err)
	}
	for _, rel := range existing {
		if slices.Contains(files, rel) {
			continue
		}
		p := filepath.Join(dataDir, filepath.FromSlash(rel))
		if err := os.Rename(p, p+".before-restore"); err != nil {
			return fmt.Errorf("restore: %w", err)
		}
		for _, suffix := range []string{"-wal", "-shm"} {
			_ = os.Remove(p + suffix)
		}
		log.Warn("restore: a database not in the backup was moved aside", "file", p+".before-restore")
	}
	for _, rel := range files {
		if err := sqlitex.Restore(ctx, filepath.Join(tmp, filepath.FromSlash(rel)), filepath.Join(dataDir, filepath.FromSlash(rel))); err != nil {
			return fmt.Errorf("restore: %w", err)
		}
	}
	log.Info("backup restored", "file", src, "data_dir", dataDir, "databases", files)
	return nil
}

// extract writes the database files of the archive src under dir and
// returns their relative paths; any other entry is refused.
func extract(src, dir string) ([]string, error) {
	f, err := os.Open(src)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	zr, err := gzip.NewReader(f)
	if err != nil {
		return nil, fmt.Errorf("not an Accord backup: %w", err)
	}
	tr := tar.NewReader(zr)
	var files []string
	for {
		h, err := tr.Next()
		if errors.Is(err, io.EOF) {
			return files, nil
		}
		if err != nil {
			return nil, fmt.Errorf("not an Accord backup: %w", err)
		}
		if h.Typeflag != tar.TypeReg || !isDatabasePath(h.Name) || slices.Contains(files, h.Name) {
			return nil, fmt.Errorf("not an Accord backup: unexpected entry %q", h.Name)
		}
		out := filepath.Join(dir, filepath.FromSlash(h.Name))
		if err := os.MkdirAll(filepath.Dir(out), 0o700); err != nil {
			return nil, err
		}
		w, err := os.OpenFile(out, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
		if err != nil {
			return nil, err
		}
		_, err = io.Copy(w, tr)
		if cerr := w.Close(); err == nil {
			err = cerr
		}
		if err != nil {
			return nil, err
		}
		files = append(files, h.Name)
	}
}
