package store

import (
	"context"
	"database/sql"
	"sync"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgxlisten"
)

// jobsChannel is the PostgreSQL notification channel on which a
// transaction that makes a job claimable (Enqueue, Requeue) notifies, so
// that idle workers of every process sharing the database look at once
// instead of at their next poll.
const jobsChannel = "clusterd_jobs"

// writesChannel is the PostgreSQL notification channel on which every
// write transaction of every process notifies (delivered at its commit),
// so that each process drops what it cached from the database (see
// LatestResult).
const writesChannel = "clusterd_writes"

// jobNotifier runs a process's one listening connection (PostgreSQL only;
// with SQLite it never starts): it fans the notifications of jobsChannel
// out to this process's subscribers, and on writesChannel's it counts a
// write (Store.gen), which invalidates the process's cached reads.
type jobNotifier struct {
	mu      sync.Mutex
	cfg     *pgx.ConnConfig // nil: no listener (SQLite)
	subs    map[int]func()
	next    int
	started bool
	stop    context.CancelFunc
	done    chan struct{}
	// live says the listener is connected and listening on writesChannel
	// since its last (re)connect: only then may cached reads be served,
	// since writes of other processes are otherwise not heard of.
	live atomic.Bool
	// wrote counts a write of another process (Store.gen.Add).
	wrote func()
	// self is the payload this store's own write notifications carry, so
	// that its listener skips them: the store counted its own commits
	// already, and counting them again when their notification arrives (a
	// moment later) would drop answers cached since.
	self string
}

// SubscribeJobs calls fn (which must not block) whenever a job may have
// become claimable in another process, and after the listening connection
// (re)connects, since notifications sent while it was away are lost. It
// returns the unsubscribe. With SQLite it does nothing: the process that
// enqueues wakes its own runner.
func (s *Store) SubscribeJobs(fn func()) (cancel func()) {
	n := &s.notify
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.cfg == nil {
		return func() {}
	}
	if n.subs == nil {
		n.subs = map[int]func(){}
	}
	id := n.next
	n.next++
	n.subs[id] = fn
	n.startLocked()
	return func() {
		n.mu.Lock()
		delete(n.subs, id)
		n.mu.Unlock()
	}
}

// start starts the listener (once; PostgreSQL only).
func (n *jobNotifier) start() {
	n.mu.Lock()
	defer n.mu.Unlock()
	n.startLocked()
}

func (n *jobNotifier) startLocked() {
	if n.started || n.cfg == nil {
		return
	}
	n.started = true
	ctx, stop := context.WithCancel(context.Background())
	n.stop, n.done = stop, make(chan struct{})
	l := &pgxlisten.Listener{
		Connect:        func(ctx context.Context) (*pgx.Conn, error) { return pgx.ConnectConfig(ctx, n.cfg) },
		ReconnectDelay: time.Second,
		// Every error ends the connection or follows its loss (the
		// handlers never fail): until the next (re)connect, writes of
		// other processes go unheard.
		LogError: func(context.Context, error) { n.live.Store(false) },
	}
	l.Handle(jobsChannel, n)
	l.Handle(writesChannel, writesHandler{n})
	go func() {
		defer close(n.done)
		l.Listen(ctx)
	}()
}

// writesHandler handles writesChannel.
type writesHandler struct{ n *jobNotifier }

// HandleNotification counts another process's write.
func (h writesHandler) HandleNotification(_ context.Context, note *pgconn.Notification, _ *pgx.Conn) error {
	if note.Payload != h.n.self {
		h.n.wrote()
	}
	return nil
}

// HandleBacklog runs once the listener listens on writesChannel after a
// (re)connect: writes made while it was away are unknown, so everything
// cached is dropped, and from now on every write is heard of.
func (h writesHandler) HandleBacklog(context.Context, string, *pgx.Conn) error {
	h.n.wrote()
	h.n.live.Store(true)
	return nil
}

// HandleNotification wakes every subscriber.
func (n *jobNotifier) HandleNotification(context.Context, *pgconn.Notification, *pgx.Conn) error {
	n.wake()
	return nil
}

// HandleBacklog runs when the listener (re)connected: jobs may have been
// enqueued meanwhile.
func (n *jobNotifier) HandleBacklog(context.Context, string, *pgx.Conn) error {
	n.wake()
	return nil
}

func (n *jobNotifier) wake() {
	n.mu.Lock()
	defer n.mu.Unlock()
	for _, fn := range n.subs {
		fn()
	}
}

func (n *jobNotifier) close() {
	n.mu.Lock()
	stop, done := n.stop, n.done
	n.mu.Unlock()
	n.live.Store(false)
	if stop != nil {
		stop()
		<-done
	}
}

// notifyWrite notifies writesChannel on c, in the transaction c is in (if
// any; delivered at its commit); nothing with SQLite.
func (s *Store) notifyWrite(ctx context.Context, c interface {
	ExecContext(context.Context, string, ...any) (sql.Result, error)
}) error {
	if s.d != dialectPostgres {
		return nil
	}
	_, err := c.ExecContext(ctx, `SELECT pg_notify('`+writesChannel+`', ?)`, s.notify.self)
	return err
}

// notifyJobs notifies jobsChannel in tx (PostgreSQL delivers it when tx
// commits; nothing with SQLite).
func (s *Store) notifyJobs(tx *sql.Tx) error {
	if s.d != dialectPostgres {
		return nil
	}
	_, err := tx.Exec(`SELECT pg_notify('` + jobsChannel + `', '')`)
	return err
}
