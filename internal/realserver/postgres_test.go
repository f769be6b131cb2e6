package realserver

import (
	"context"
	"errors"
	"os"
	"syscall"
	"testing"

	"github.com/jackc/pgx/v5"
)

// The server accepts connections on its DSN, hands out separate databases,
// and leaves neither processes nor files behind once its test ends.
func TestPostgres(t *testing.T) {
	var p *PG
	t.Run("server", func(t *testing.T) {
		p = Postgres(t)
		ctx := context.Background()
		c, err := pgx.Connect(ctx, p.DSN)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close(ctx)
		var db string
		if err := c.QueryRow(ctx, "SELECT current_database()").Scan(&db); err != nil || db != "oombot" {
			t.Fatalf("current_database = %q, %v", db, err)
		}
		var listen string
		if err := c.QueryRow(ctx, "SHOW listen_addresses").Scan(&listen); err != nil || listen != "127.0.0.1" {
			t.Errorf("listen_addresses = %q, %v: must be loopback only", listen, err)
		}
		a, b := p.NewDatabase(t), p.NewDatabase(t)
		if a == b {
			t.Fatalf("NewDatabase returned %s twice", a)
		}
		ca, err := pgx.Connect(ctx, a)
		if err != nil {
			t.Fatal(err)
		}
		defer ca.Close(ctx)
		if _, err := ca.Exec(ctx, "CREATE TABLE only_in_a (x int)"); err != nil {
			t.Fatal(err)
		}
		cb, err := pgx.Connect(ctx, b)
		if err != nil {
			t.Fatal(err)
		}
		defer cb.Close(ctx)
		var n int
		if err := cb.QueryRow(ctx, "SELECT count(*) FROM pg_tables WHERE tablename = 'only_in_a'").Scan(&n); err != nil || n != 0 {
			t.Errorf("databases are not separate: %d, %v", n, err)
		}
		t.Logf("startup %s", p.Startup)
	})
	if p == nil {
		return // skipped
	}
	// The subtest's cleanups have run: the postmaster's process group
	// must be gone (no orphaned backends) and its directory removed.
	if err := syscall.Kill(-p.pgid, 0); !errors.Is(err, syscall.ESRCH) {
		t.Errorf("process group %d still exists after cleanup (kill 0: %v)", p.pgid, err)
	}
	if _, err := os.Stat(p.dir); !os.IsNotExist(err) {
		t.Errorf("%s still exists after cleanup: %v", p.dir, err)
	}
}
