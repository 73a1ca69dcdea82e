// The PostgreSQL schema, as versioned migrations: each runs once, in order, in one transaction
// with its row in schema_migrations. Never edit a released migration; add the next one.
//
// The journal's tables are append-only in the database itself (triggers refuse UPDATE, DELETE and
// TRUNCATE). Keys that clients page through are COLLATE "C": byte order, the same as SQLite's.
// mari_commit() is the whole of one group commit: the fence, every record, the journal entry, the
// documents and the checkpoint, in one statement, so a batch costs one round trip and one commit.

export const MIGRATIONS: readonly { version: number; name: string; sql: string }[] = [
  {
    version: 1,
    name: 'ledger',
    sql: `
    CREATE TABLE meta (key text PRIMARY KEY, value text NOT NULL);
    CREATE TABLE assets (code text PRIMARY KEY, scale integer NOT NULL, name text NOT NULL);
    CREATE TABLE accounts (
      no integer PRIMARY KEY, id text COLLATE "C" NOT NULL UNIQUE, asset text NOT NULL REFERENCES assets(code),
      code integer NOT NULL, flags integer NOT NULL, user_data text, timestamp bigint NOT NULL UNIQUE,
      -- balances as of meta.checkpoint_timestamp; the journal is the truth
      debits_pending bigint NOT NULL DEFAULT 0, debits_posted bigint NOT NULL DEFAULT 0,
      credits_pending bigint NOT NULL DEFAULT 0, credits_posted bigint NOT NULL DEFAULT 0
    ) WITH (fillfactor = 70); -- room for checkpoint updates to stay on the page (HOT)
    CREATE TABLE transfers (
      timestamp bigint PRIMARY KEY, id text COLLATE "C" NOT NULL, debit_no integer NOT NULL, credit_no integer NOT NULL,
      amount bigint NOT NULL, pending_id text COLLATE "C", pending_amount bigint NOT NULL, asset text NOT NULL,
      code integer NOT NULL, flags integer NOT NULL, timeout bigint NOT NULL, user_data text, reversal_of text COLLATE "C"
    );
    CREATE UNIQUE INDEX transfers_id ON transfers(id);
    CREATE UNIQUE INDEX transfers_resolution ON transfers(pending_id) WHERE pending_id IS NOT NULL;
    CREATE UNIQUE INDEX transfers_reversal ON transfers(reversal_of) WHERE reversal_of IS NOT NULL;
    CREATE INDEX transfers_pending ON transfers(timestamp) WHERE flags & 2 != 0;
    CREATE TABLE journal (
      seq bigint PRIMARY KEY, first_timestamp bigint NOT NULL, last_timestamp bigint NOT NULL,
      count integer NOT NULL, prev_hash bytea NOT NULL, hash bytea NOT NULL
    );

    CREATE FUNCTION mari_refuse() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
      RAISE EXCEPTION '% is append-only: % refused', TG_TABLE_NAME, TG_OP USING ERRCODE = 'restrict_violation';
    END $$;
    CREATE TRIGGER transfers_append_only BEFORE UPDATE OR DELETE ON transfers FOR EACH ROW EXECUTE FUNCTION mari_refuse();
    CREATE TRIGGER transfers_no_truncate BEFORE TRUNCATE ON transfers FOR EACH STATEMENT EXECUTE FUNCTION mari_refuse();
    CREATE TRIGGER journal_append_only BEFORE UPDATE OR DELETE ON journal FOR EACH ROW EXECUTE FUNCTION mari_refuse();
    CREATE TRIGGER journal_no_truncate BEFORE TRUNCATE ON journal FOR EACH STATEMENT EXECUTE FUNCTION mari_refuse();
    CREATE TRIGGER accounts_no_delete BEFORE DELETE ON accounts FOR EACH ROW EXECUTE FUNCTION mari_refuse();
    CREATE TRIGGER accounts_no_truncate BEFORE TRUNCATE ON accounts FOR EACH STATEMENT EXECUTE FUNCTION mari_refuse();
    -- Only an UPDATE that names an identity column fires it: checkpoints (balances only) do not pay for it.
    CREATE FUNCTION mari_account_identity() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
      IF (NEW.no, NEW.id, NEW.asset, NEW.code, NEW.flags, NEW.user_data, NEW.timestamp)
         IS DISTINCT FROM (OLD.no, OLD.id, OLD.asset, OLD.code, OLD.flags, OLD.user_data, OLD.timestamp) THEN
        RAISE EXCEPTION 'an account''s identity is immutable' USING ERRCODE = 'restrict_violation';
      END IF;
      RETURN NEW;
    END $$;
    CREATE TRIGGER accounts_immutable BEFORE UPDATE OF no, id, asset, code, flags, user_data, timestamp ON accounts
      FOR EACH ROW EXECUTE FUNCTION mari_account_identity();

    CREATE TABLE documents (
      collection text COLLATE "C" NOT NULL, key text COLLATE "C" NOT NULL, tag text COLLATE "C", value text NOT NULL,
      updated_at bigint NOT NULL, PRIMARY KEY (collection, key)
    );
    CREATE INDEX documents_tag ON documents(collection, tag, key) WHERE tag IS NOT NULL;

    -- The derived history index: each account's balances right after each of its transfers,
    -- built by the writer behind the commits, up to meta.history_watermark. An account's latest
    -- entry is its running balance: the indexer reads it from here, so nothing else is kept.
    CREATE TABLE account_entries (
      account_no integer NOT NULL, timestamp bigint NOT NULL,
      debits_pending bigint NOT NULL, debits_posted bigint NOT NULL, credits_pending bigint NOT NULL, credits_posted bigint NOT NULL,
      PRIMARY KEY (account_no, timestamp)
    );

    -- The writer role. The holder of the advisory lock bumps epoch when it takes the role; every
    -- commit checks its epoch under a row lock, so a writer that lost the role cannot commit.
    CREATE TABLE writer_lease (
      id integer PRIMARY KEY CHECK (id = 1), epoch bigint NOT NULL, holder text, since timestamptz
    );
    INSERT INTO writer_lease VALUES (1, 0, NULL, NULL);

    CREATE FUNCTION mari_commit(
      p_epoch bigint,
      a_no integer[], a_id text[], a_asset text[], a_code integer[], a_flags integer[], a_user_data text[], a_ts bigint[],
      t_ts bigint[], t_id text[], t_debit integer[], t_credit integer[], t_amount bigint[], t_pending_id text[],
      t_pending_amount bigint[], t_asset text[], t_code integer[], t_flags integer[], t_timeout bigint[], t_user_data text[], t_reversal_of text[],
      j_seq bigint, j_first bigint, j_last bigint, j_count integer, j_prev bytea, j_hash bytea,
      d_collection text[], d_key text[], d_tag text[], d_value text[], d_deleted boolean[], d_now bigint,
      c_timestamp bigint, c_no integer[], c_dp bigint[], c_dpo bigint[], c_cp bigint[], c_cpo bigint[]
    ) RETURNS void LANGUAGE plpgsql AS $$
    DECLARE
      previous bytea;
    BEGIN
      -- The fence: FOR SHARE conflicts with the UPDATE that hands the role to another process.
      PERFORM 1 FROM writer_lease WHERE id = 1 AND epoch = p_epoch FOR SHARE;
      IF NOT FOUND THEN
        RAISE EXCEPTION 'this process no longer holds the writer role (epoch %)', p_epoch USING ERRCODE = 'MR001';
      END IF;
      IF j_seq IS NOT NULL THEN
        IF j_seq > 1 THEN
          SELECT hash INTO previous FROM journal WHERE seq = j_seq - 1;
          IF previous IS DISTINCT FROM j_prev THEN
            RAISE EXCEPTION 'journal entry % does not follow the stored chain head', j_seq USING ERRCODE = 'MR002';
          END IF;
        END IF;
        INSERT INTO journal VALUES (j_seq, j_first, j_last, j_count, j_prev, j_hash);
      END IF;
      IF cardinality(a_no) > 0 THEN
        INSERT INTO accounts (no, id, asset, code, flags, user_data, timestamp)
          SELECT * FROM unnest(a_no, a_id, a_asset, a_code, a_flags, a_user_data, a_ts);
      END IF;
      IF cardinality(t_ts) > 0 THEN
        INSERT INTO transfers
          SELECT * FROM unnest(t_ts, t_id, t_debit, t_credit, t_amount, t_pending_id, t_pending_amount, t_asset, t_code, t_flags, t_timeout, t_user_data, t_reversal_of);
      END IF;
      IF cardinality(d_key) > 0 THEN
        DELETE FROM documents d USING unnest(d_collection, d_key, d_deleted) AS u(collection, key, deleted)
          WHERE u.deleted AND d.collection = u.collection AND d.key = u.key;
        INSERT INTO documents (collection, key, tag, value, updated_at)
          SELECT u.collection, u.key, u.tag, u.value, d_now FROM unnest(d_collection, d_key, d_tag, d_value, d_deleted) AS u(collection, key, tag, value, deleted)
          WHERE NOT u.deleted
          ON CONFLICT (collection, key) DO UPDATE SET tag = excluded.tag, value = excluded.value, updated_at = excluded.updated_at;
      END IF;
      IF c_timestamp IS NOT NULL THEN
        UPDATE accounts a SET debits_pending = u.dp, debits_posted = u.dpo, credits_pending = u.cp, credits_posted = u.cpo
          FROM unnest(c_no, c_dp, c_dpo, c_cp, c_cpo) AS u(no, dp, dpo, cp, cpo) WHERE a.no = u.no;
        INSERT INTO meta VALUES ('checkpoint_timestamp', c_timestamp::text)
          ON CONFLICT (key) DO UPDATE SET value = excluded.value;
      END IF;
    END $$;
    `,
  },
];
