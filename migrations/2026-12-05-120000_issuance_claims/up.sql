-- Issuance is paid once per material, after the demander's word, for a plausible mass.
--
-- Reference data: the density and embodied carbon of 13 common building materials, and which
-- categories are made of which material, with the heaviest piece a category plausibly has. The
-- figures are those of ../shared/data/material-factors.csv (embodied carbon: ICE v2.0, Hammond &
-- Jones, University of Bath, 2011; densities: EN ISO 10456 / 10077-2, EN 1993-1-1, CIBSE Guide A,
-- CTE DB SE-AE, as each row cites); embodied carbon here in grams CO2e per kg. Mineral wool's
-- density is unknown (NULL): its categories are bounded as if made of the densest material.
CREATE TABLE material_densities (
    material                text PRIMARY KEY CHECK (length(material) BETWEEN 1 AND 100),
    density_kg_m3           integer CHECK (density_kg_m3 > 0),
    embodied_g_co2e_per_kg  integer NOT NULL CHECK (embodied_g_co2e_per_kg >= 0),
    source                  text NOT NULL
);

INSERT INTO material_densities (material, density_kg_m3, embodied_g_co2e_per_kg, source) VALUES
    ('concrete', 2400, 107,
     'ICE v2.0 (Hammond & Jones, Univ. of Bath, 2011), cradle-to-gate, via github OpenAMEE/datasets embodied/ice/v2/concrete/data.csv: ''General''; density: BS EN ISO 10456:2007 ''Concrete, high density'' 2400 (as reproduced in scribd doc 522475495); ICE note: ''avoid general value'', assumed cement content 12% by mass'),
    ('brick', 1800, 240,
     'ICE v2.0 (Hammond & Jones, Univ. of Bath, 2011), cradle-to-gate, via github OpenAMEE/datasets embodied/ice/v2/mass/data.csv: ''Bricks/General/Common Brick''; density: CTE DB SE-AE Table C.1 ''ladrillo ceramico macizo'' 18.0 kN/m3 (as transcribed in github xcfem/xc), converted x100 (g=10 convention)'),
    ('steel', 7850, 1460,
     'ICE v2.0 (Hammond & Jones, Univ. of Bath, 2011), cradle-to-gate, via github OpenAMEE/datasets embodied/ice/v2/mass/data.csv: ''Steel/General/EU average (59% recycled content)''; density: EN 1993-1-1 steel 7850 kg/m3 (as in github kuisidu/metku en1993/constants.py)'),
    ('aluminium', 2700, 9160,
     'ICE v2.0 (Hammond & Jones, Univ. of Bath, 2011), cradle-to-gate, via github OpenAMEE/datasets embodied/ice/v2/mass/data.csv: ''Aluminium/General/Average (33% recycled content)''; density: CIBSE Guide A Table 3.36 ''aluminium'' 2700 (scribd excerpt); CTE Table C.1 27.0 kN/m3 consistent'),
    ('timber (sawn softwood)', 500, 200,
     'ICE v2.0 (Hammond & Jones, Univ. of Bath, 2011), cradle-to-gate, via github OpenAMEE/datasets embodied/ice/v2/mass/data.csv: ''Timber/Sawn softwood (excl. biogenic carbon storage)''; density: EN ISO 10077-2 ''Softwood (typical construction timber)'' 500 (scribd doc 522475495)'),
    ('glass', 2500, 910,
     'ICE v2.0 (Hammond & Jones, Univ. of Bath, 2011), cradle-to-gate, via github OpenAMEE/datasets embodied/ice/v2/mass/data.csv: ''Glass/Primary Glass''; density: EN ISO 10077-2 ''Soda lime glass'' 2500 (scribd doc 522475495); CIBSE 2500; CTE 25.0 kN/m3'),
    ('gypsum board', 769, 390,
     'ICE v2.0 (Hammond & Jones, Univ. of Bath, 2011), cradle-to-gate, via github OpenAMEE/datasets embodied/ice/v2/mass/data.csv: ''Plaster/Plasterboard''; density: ''Gypsum board 48 pcf'' (civilengineeringbible.com/article.php?i=65) converted to kg/m3 (x16.018); US residential figure, low confidence'),
    ('mineral wool', NULL, 1280,
     'ICE v2.0 (Hammond & Jones, Univ. of Bath, 2011), cradle-to-gate, via github OpenAMEE/datasets embodied/ice/v2/mass/data.csv: ''Insulation/Mineral wool''; density: NOT FOUND in a source during this task (product-dependent)'),
    ('EPS (expanded polystyrene)', 30, 3290,
     'ICE v2.0 (Hammond & Jones, Univ. of Bath, 2011), cradle-to-gate, via github OpenAMEE/datasets embodied/ice/v2/mass/data.csv: ''Plastics/Polystyrene/Expanded''; density: CTE DB SE-AE Table C.1 ''poliestireno expandido'' 0.3 kN/m3 (github xcfem/xc), converted x100'),
    ('PVC', 1390, 3100,
     'ICE v2.0 (Hammond & Jones, Univ. of Bath, 2011), cradle-to-gate, via github OpenAMEE/datasets embodied/ice/v2/mass/data.csv: ''Plastics/PVC/General''; density: EN ISO 10077-2 ''PVC, rigid'' 1390 (scribd doc 522475495)'),
    ('ceramic tiles', 1800, 780,
     'ICE v2.0 (Hammond & Jones, Univ. of Bath, 2011), cradle-to-gate, via github OpenAMEE/datasets embodied/ice/v2/mass/data.csv: ''Ceramics/Tiles and cladding panels''; density: CTE DB SE-AE Table C.1 ''baldosa ceramica'' 18.0 kN/m3 (github xcfem/xc), converted x100'),
    ('bitumen', 1050, 490,
     'ICE v2.0 (Hammond & Jones, Univ. of Bath, 2011), cradle-to-gate, via github OpenAMEE/datasets embodied/ice/v2/mass/data.csv: ''Bitumen/General/Mean (range 0.43-0.55)''; density: BS EN ISO 10456:2007 ''Bitumen, pure'' 1050 (scribd doc 522475495)'),
    ('copper', 8900, 2710,
     'ICE v2.0 (Hammond & Jones, Univ. of Bath, 2011), cradle-to-gate, via github OpenAMEE/datasets embodied/ice/v2/mass/data.csv: ''Copper/EU Tube and Sheet/Average (37% recycled)''; density: EN ISO 10077-2 ''Copper'' 8900 (scribd doc 522475495)');

-- What bounds a category's mass per unit (the nearest category up the tree that says wins, for
-- each column on its own): the material it is made of, whose density bounds a unit's mass
-- together with the declared dimensions, and the heaviest piece that is plausible (a precast
-- element weighs tonnes, a brick a few kg). The rule itself is in src/domain/issuance.rs.
CREATE TABLE category_mass_rules (
    category_id       uuid PRIMARY KEY REFERENCES categories (id) ON DELETE CASCADE,
    material          text REFERENCES material_densities (material),
    max_kg_per_piece  integer CHECK (max_kg_per_piece > 0),
    CHECK (material IS NOT NULL OR max_kg_per_piece IS NOT NULL)
);

INSERT INTO category_mass_rules (category_id, material, max_kg_per_piece)
SELECT c.id, v.material, v.max_kg_per_piece
FROM (VALUES
    ('concrete',                'concrete',                   40000),
    ('bricks-masonry',          'brick',                      5000),
    ('bricks',                  NULL,                         10),
    ('paving-bricks',           NULL,                         30),
    ('tiles-ceramics',          'ceramic tiles',              50),
    ('wood',                    'timber (sawn softwood)',     2000),
    ('glass',                   'glass',                      1000),
    ('plastics',                'PVC',                        500),
    ('bituminous',              NULL,                         1000),
    ('bituminous-roofing',      'bitumen',                    NULL),
    ('metals',                  NULL,                         20000),
    ('iron-steel',              'steel',                      NULL),
    ('copper-alloys',           'copper',                     NULL),
    ('aluminium',               'aluminium',                  NULL),
    ('insulation',              NULL,                         100),
    ('mineral-wool',            'mineral wool',               NULL),
    ('eps-xps',                 'EPS (expanded polystyrene)', NULL),
    ('gypsum',                  'gypsum board',               100),
    ('soil-stones',             NULL,                         5000),
    ('doors',                   NULL,                         300),
    ('windows',                 NULL,                         500),
    ('window-frames-wood',      'timber (sawn softwood)',     NULL),
    ('window-frames-aluminium', 'aluminium',                  NULL),
    ('window-frames-plastic',   'PVC',                        NULL),
    ('structural',              NULL,                         40000),
    ('steel-beams',             'steel',                      NULL),
    ('timber-beams',            'timber (sawn softwood)',     NULL),
    ('hollow-core-slabs',       'concrete',                   NULL),
    ('floor-wall-panels',       NULL,                         1000),
    ('sanitary',                NULL,                         300),
    ('heating',                 NULL,                         500),
    ('kitchens',                NULL,                         500),
    ('lighting',                NULL,                         100),
    ('electrical',              NULL,                         2000),
    ('roofing',                 NULL,                         500),
    ('roof-tiles',              NULL,                         15),
    ('stairs-railings',         NULL,                         5000),
    ('facade',                  NULL,                         10000)
) AS v (code, material, max_kg_per_piece)
JOIN categories c ON c.code = v.code;

-- The broker's optional cap on what an organisation is issued by the policy per calendar month
-- (UTC), in minor units; NULL: no cap.
ALTER TABLE ledger_accounts ADD COLUMN issuance_cap_per_month bigint
    CHECK (issuance_cap_per_month >= 0);

-- A hand-over's claim to issuance: made at hand-over for material that never earned before,
-- settled when the demander confirms (or the window passes without a word): paid, or held for
-- the broker (a mass per unit above the plausible bound, the monthly cap, a dispute), who pays
-- or rejects it. `passport_id` is the material handed over (the passport the demander
-- received); unique, so a passport earns once, and a claim is only made when no passport up its
-- lineage has one (src/app/ledger/issuance.rs). `root_passport_id` is the passport it was split
-- from first: what was paid per material is the sum over its root.
CREATE TABLE issuance_claims (
    id                    uuid PRIMARY KEY,
    reservation_id        uuid NOT NULL UNIQUE REFERENCES reservations (id),
    passport_id           uuid NOT NULL REFERENCES passports (id),
    root_passport_id      uuid NOT NULL REFERENCES passports (id),
    donor_id              uuid NOT NULL REFERENCES organisations (id),
    category_id           uuid NOT NULL REFERENCES categories (id),
    mass_g                bigint NOT NULL CHECK (mass_g > 0),
    quantity              bigint NOT NULL CHECK (quantity > 0),
    unit                  text NOT NULL,
    grams_per_unit        bigint NOT NULL CHECK (grams_per_unit > 0),
    -- The plausible bound on `grams_per_unit`; NULL when the unit is a mass (kg, t).
    plausible_g_per_unit  bigint CHECK (plausible_g_per_unit > 0),
    status                text NOT NULL CHECK (status IN ('awaiting', 'held', 'paid', 'rejected')),
    held_because          text CHECK (held_because IN ('implausible_mass', 'over_cap', 'disputed')),
    -- What the policy gives for the mass, set at settlement; `paid` of it has been issued.
    amount                bigint NOT NULL DEFAULT 0 CHECK (amount >= 0),
    paid                  bigint NOT NULL DEFAULT 0 CHECK (paid >= 0 AND paid <= amount),
    created_at            timestamptz NOT NULL,
    settled_at            timestamptz,
    decided_at            timestamptz,
    decided_by            uuid,
    decision_reason       text CHECK (length(decision_reason) BETWEEN 1 AND 500),
    CHECK (status <> 'held' OR held_because IS NOT NULL),
    CHECK ((status = 'awaiting') = (settled_at IS NULL))
);
CREATE UNIQUE INDEX issuance_claims_once_per_passport ON issuance_claims (passport_id);
CREATE INDEX issuance_claims_root_idx ON issuance_claims (root_passport_id);
CREATE INDEX issuance_claims_open_idx ON issuance_claims (status, id)
    WHERE status IN ('awaiting', 'held');

-- Material handed over before this migration was paid at hand-over: it has had its issuance.
WITH RECURSIVE roots (id, root) AS (
    SELECT id, id FROM passports WHERE parent_id IS NULL
    UNION ALL
    SELECT p.id, roots.root FROM passports p JOIN roots ON p.parent_id = roots.id
)
INSERT INTO issuance_claims (id, reservation_id, passport_id, root_passport_id, donor_id,
                             category_id, mass_g, quantity, unit, grams_per_unit, status, amount,
                             paid, created_at, settled_at)
SELECT DISTINCT ON (r.received_passport_id)
       r.id, r.id, r.received_passport_id, roots.root, r.donor_id, l.category_id,
       r.quantity * l.mass_g_per_unit, r.quantity, r.unit, l.mass_g_per_unit, 'paid',
       issued.amount, issued.amount, r.handed_over_at, r.handed_over_at
FROM reservations r
JOIN listings l ON l.id = r.listing_id
JOIN roots ON roots.id = r.received_passport_id
CROSS JOIN LATERAL (
    SELECT coalesce(sum(t.amount), 0)::bigint AS amount FROM transfers t
    WHERE t.kind = 'issuance' AND t.reference = 'handover:' || r.id::text
) AS issued
WHERE r.status = 'handed_over' AND r.received_passport_id IS NOT NULL
  AND r.handed_over_at IS NOT NULL AND l.mass_g_per_unit > 0
ORDER BY r.received_passport_id, r.handed_over_at;
