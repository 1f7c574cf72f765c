CREATE TABLE items (
    id uuid PRIMARY KEY,
    name text NOT NULL CHECK (char_length(name) BETWEEN 1 AND 200),
    description text NOT NULL CHECK (char_length(description) <= 2000),
    created_at timestamptz NOT NULL,
    updated_at timestamptz NOT NULL
);
