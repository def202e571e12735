-- UUID v7 (RFC 9562) for rows that SQL writes itself, such as the outbox rows of a ledger
-- movement: the real clock's milliseconds first, then random bits, so that they sort among
-- the ids the service makes (Uuid::now_v7). gen_random_uuid() gives the random bits and the
-- variant; the version nibble 0100 becomes 0111.
CREATE FUNCTION uuid_v7() RETURNS uuid LANGUAGE sql VOLATILE PARALLEL SAFE AS $$
    SELECT encode(
        set_bit(set_bit(
            overlay(uuid_send(gen_random_uuid())
                    PLACING substring(int8send(floor(extract(epoch FROM clock_timestamp()) * 1000)::bigint) FROM 3)
                    FROM 1 FOR 6),
            52, 1), 53, 1),
        'hex')::uuid
$$;
