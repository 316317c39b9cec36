package store

// pgFunctions are PostgreSQL functions with the names and meaning of the
// SQLite functions the store's statements call (json_extract, json_type,
// json_each of a text, json_patch, instr) and of the store's own
// (clusterd_fold, clusterd_regexp, clusterd_text; see sqlfuncs.go), and
// clusterd_jsonb and clusterd_jtype, which the filter compiler's reading
// of JSON fields uses (pgElements). They live in the schema
// main and are replaced at every start (createPGObjects), so a new
// release's definitions take over.
//
// Differences from SQLite, recorded in docs/API.md: clusterd_fold is
// Unicode lower-casing (ICU's root collation) plus the foldings of ß, ẞ
// and final sigma, not Go's full case folding; clusterd_regexp runs
// PostgreSQL's regular expressions (ARE), which accept RE2's syntax for
// what the API documents (classes, alternation, anchors, (?i)), but not
// every RE2 construct. json_patch is RFC 7396's merge patch keeping the
// target's key order, as SQLite's does.
//
// PostgreSQL's text cannot hold U+0000, and jsonb refuses the escape
// \u0000 that a stored payload may hold (JSON columns are text). Every
// jsonb reading goes through clusterd_jsonb, which reads such an escape as
// \uffff, a noncharacter; the connections read U+0000 in a statement's
// text arguments as U+FFFF too (see pgReadArgs), so a filter on "a\x00b"
// matches a payload's "a\u0000b" as on SQLite. A payload holding U+FFFF
// itself is the one that reads the same.
const pgFunctions = `
CREATE OR REPLACE FUNCTION main.clusterd_path(p text) RETURNS text[] LANGUAGE plpgsql IMMUTABLE STRICT AS $f$
DECLARE
	out text[] := '{}';
	i int := 2;
	n int := length(p);
	j int;
BEGIN
	IF left(p, 1) <> '$' THEN RAISE EXCEPTION 'bad JSON path: %', p; END IF;
	WHILE i <= n LOOP
		IF substr(p, i, 1) = '.' THEN
			i := i + 1;
			IF substr(p, i, 1) = '"' THEN
				j := i + 1;
				WHILE j <= n AND substr(p, j, 1) <> '"' LOOP
					IF substr(p, j, 1) = E'\\' THEN j := j + 2; ELSE j := j + 1; END IF;
				END LOOP;
				out := out || ((substr(p, i, j - i + 1))::jsonb #>> '{}');
				i := j + 1;
			ELSE
				j := i;
				WHILE j <= n AND substr(p, j, 1) NOT IN ('.', '[') LOOP j := j + 1; END LOOP;
				out := out || substr(p, i, j - i);
				i := j;
			END IF;
		ELSIF substr(p, i, 1) = '[' THEN
			j := i + strpos(substr(p, i), ']') - 1;
			out := out || substr(p, i + 1, j - i - 1);
			i := j + 1;
		ELSE
			RAISE EXCEPTION 'bad JSON path: %', p;
		END IF;
	END LOOP;
	RETURN out;
END $f$;

CREATE OR REPLACE FUNCTION main.clusterd_jsonb(doc text) RETURNS jsonb LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $f$
	SELECT (CASE WHEN strpos(doc, '\u0000') = 0 THEN doc
		ELSE regexp_replace(doc, '(?<!\\)((?:\\\\)*)\\u0000', '\1\\uffff', 'g') END)::jsonb
$f$;

CREATE OR REPLACE FUNCTION main.clusterd_jtype(v jsonb) RETURNS text LANGUAGE sql IMMUTABLE AS $f$
	SELECT CASE jsonb_typeof(v)
		WHEN 'string' THEN 'text'
		WHEN 'number' THEN CASE WHEN v #>> '{}' ~ '^-?[0-9]+$' THEN 'integer' ELSE 'real' END
		WHEN 'boolean' THEN v #>> '{}'
		ELSE jsonb_typeof(v) END
$f$;

CREATE OR REPLACE FUNCTION main.json_type(doc text, path text) RETURNS text LANGUAGE sql IMMUTABLE AS $f$
	SELECT main.clusterd_jtype(main.clusterd_jsonb(doc) #> main.clusterd_path(path))
$f$;

CREATE OR REPLACE FUNCTION main.json_extract(doc text, path text) RETURNS text LANGUAGE sql IMMUTABLE AS $f$
	SELECT CASE jsonb_typeof(v) WHEN 'null' THEN NULL
		WHEN 'boolean' THEN CASE WHEN v = 'true'::jsonb THEN '1' ELSE '0' END
		WHEN 'string' THEN v #>> '{}'
		ELSE v::text END
	FROM (SELECT main.clusterd_jsonb(doc) #> main.clusterd_path(path) AS v) s
$f$;

CREATE OR REPLACE FUNCTION main.json_each(doc text) RETURNS TABLE (key text, value text) LANGUAGE sql IMMUTABLE AS $f$
	SELECT NULL::text, e FROM jsonb_array_elements_text(main.clusterd_jsonb(doc)) AS e
$f$;

CREATE OR REPLACE FUNCTION main.clusterd_merge(t json, p json) RETURNS json LANGUAGE plpgsql IMMUTABLE AS $f$
DECLARE
	k text;
	v json;
	pv json;
	out text := '';
BEGIN
	IF p IS NULL OR json_typeof(p) <> 'object' THEN RETURN p; END IF;
	IF t IS NULL OR json_typeof(t) <> 'object' THEN t := '{}'; END IF;
	FOR k, v IN SELECT * FROM json_each(t) LOOP
		pv := p -> k;
		IF pv IS NULL THEN
			out := out || ',' || to_json(k)::text || ':' || v::text;
		ELSIF json_typeof(pv) <> 'null' THEN
			out := out || ',' || to_json(k)::text || ':' || main.clusterd_merge(v, pv)::text;
		END IF;
	END LOOP;
	FOR k, v IN SELECT * FROM json_each(p) LOOP
		IF t -> k IS NULL AND json_typeof(v) <> 'null' THEN
			out := out || ',' || to_json(k)::text || ':' || main.clusterd_merge(NULL, v)::text;
		END IF;
	END LOOP;
	RETURN ('{' || substr(out, 2) || '}')::json;
END $f$;

CREATE OR REPLACE FUNCTION main.json_patch(a text, b text) RETURNS text LANGUAGE sql IMMUTABLE AS $f$
	SELECT main.clusterd_merge(a::json, b::json)::text
$f$;

CREATE OR REPLACE FUNCTION main.instr(a text, b text) RETURNS int LANGUAGE sql IMMUTABLE AS $f$
	SELECT strpos(a, b)
$f$;

CREATE OR REPLACE FUNCTION main.clusterd_fold(x text) RETURNS text LANGUAGE sql IMMUTABLE AS $f$
	SELECT replace(replace(replace(lower(x COLLATE "und-x-icu"), 'ß', 'ss'), 'ẞ', 'ss'), 'ς', 'σ')
$f$;

CREATE OR REPLACE FUNCTION main.clusterd_regexp(p text, x text) RETURNS boolean LANGUAGE sql IMMUTABLE AS $f$
	SELECT x ~ p
$f$;

CREATE OR REPLACE FUNCTION main.clusterd_words(x text) RETURNS text[] LANGUAGE sql IMMUTABLE AS $f$
	SELECT COALESCE(array_agg(w), '{}') FROM regexp_split_to_table(x, '[^[:alnum:]]+') AS w WHERE w <> ''
$f$;

CREATE OR REPLACE FUNCTION main.clusterd_text(x text, q text, cs int) RETURNS boolean LANGUAGE sql IMMUTABLE AS $f$
	SELECT CASE WHEN x IS NULL THEN NULL ELSE
		main.clusterd_words(CASE WHEN cs <> 0 THEN q ELSE main.clusterd_fold(q) END) <@ main.clusterd_words(CASE WHEN cs <> 0 THEN x ELSE main.clusterd_fold(x) END)
		AND cardinality(main.clusterd_words(q)) > 0 END
$f$;
`
