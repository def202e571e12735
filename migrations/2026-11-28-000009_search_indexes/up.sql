-- Stock search by date within categories: the first open lots of each category of a subtree,
-- merged, instead of reading all open lots by date and dropping the other categories. Carries
-- the columns the filters read, so that the page's ids come from an index-only scan.
CREATE INDEX listings_open_category_from_idx ON listings (category_id, available_from, id)
    INCLUDE (status, quantity_available, price_amount, price_currency, condition_rank)
    WHERE status IN ('announced', 'available');
