-- Material and product taxonomy (categories), seeded with a building-materials tree.
--
-- Categories form a tree (depth up to 3): material-level roots (concrete, wood, metals, ...)
-- and product-level roots that reuse cares about (doors, windows, sanitary ware, ...).
-- Ids are derived from the stable code, md5('kringloop-category:' || code)::uuid, so the
-- same category has the same id in every environment.
--
-- eural_codes lists the waste codes that apply to a category, written as in the EU list
-- ('17 01 01'). Source: EURAL / European List of Waste, Decision 2000/532/EC as amended by
-- 2014/955/EU. Product categories carry the code of their main material where that is
-- clear, and '{}' where it depends on the item (e.g. doors that may be wood, steel or
-- aluminium).

CREATE TABLE categories (
    id          uuid PRIMARY KEY,
    parent_id   uuid REFERENCES categories (id),
    code        text NOT NULL UNIQUE CHECK (code ~ '^[a-z0-9][a-z0-9-]{0,62}$'),
    name_nl     text NOT NULL CHECK (length(name_nl) BETWEEN 1 AND 120),
    name_en     text NOT NULL CHECK (length(name_en) BETWEEN 1 AND 120),
    eural_codes text[] NOT NULL DEFAULT '{}',
    created_at  timestamptz NOT NULL DEFAULT now(),
    updated_at  timestamptz NOT NULL DEFAULT now(),
    CHECK (parent_id IS NULL OR parent_id <> id)
);
CREATE INDEX categories_parent_idx ON categories (parent_id);

-- One statement, so the self-referencing foreign key is checked only once all rows exist
-- and the order of the rows below does not matter.
INSERT INTO categories (id, parent_id, code, name_nl, name_en, eural_codes)
SELECT md5('kringloop-category:' || v.code)::uuid,
       CASE WHEN v.parent_code IS NULL THEN NULL
            ELSE md5('kringloop-category:' || v.parent_code)::uuid END,
       v.code,
       v.name_nl,
       v.name_en,
       v.eural_codes
FROM (VALUES
    -- ---------------------------------------------------------------- materials
    -- Concrete (17 01 01)
    ('concrete',            NULL::text,       'Beton',                          'Concrete',                              ARRAY['17 01 01']::text[]),
    ('concrete-elements',   'concrete',       'Betonelementen',                 'Precast concrete elements',             ARRAY['17 01 01']::text[]),
    ('concrete-granulate',  'concrete',       'Betongranulaat',                 'Crushed concrete (granulate)',          ARRAY['17 01 01']::text[]),

    -- Bricks and masonry (17 01 02). Dutch brick formats, nominal sizes in mm:
    -- waalformaat 210x100x50, dikformaat 210x100x65, vechtformaat 210x100x40,
    -- modulair (M50) 190x90x50.
    ('bricks-masonry',      NULL,             'Bakstenen en metselwerk',        'Bricks and masonry',                    ARRAY['17 01 02']::text[]),
    ('bricks',              'bricks-masonry', 'Metselstenen',                   'Bricks',                                ARRAY['17 01 02']::text[]),
    ('bricks-waalformaat',  'bricks',         'Waalformaat (WF)',               'Waal format bricks (WF)',               ARRAY['17 01 02']::text[]),
    ('bricks-dikformaat',   'bricks',         'Dikformaat (DF)',                'Thick format bricks (DF)',              ARRAY['17 01 02']::text[]),
    ('bricks-vechtformaat', 'bricks',         'Vechtformaat (VF)',              'Vecht format bricks (VF)',              ARRAY['17 01 02']::text[]),
    ('bricks-modulair',     'bricks',         'Modulair formaat',               'Modular format bricks',                 ARRAY['17 01 02']::text[]),
    ('paving-bricks',       'bricks-masonry', 'Gebakken klinkers',              'Clay paving bricks',                    ARRAY['17 01 02']::text[]),
    ('natural-stone',       'bricks-masonry', 'Natuursteen',                    'Natural stone',                         '{}'::text[]),

    -- Tiles and ceramics (17 01 03)
    ('tiles-ceramics',      NULL,             'Tegels en keramiek',             'Tiles and ceramics',                    ARRAY['17 01 03']::text[]),
    ('wall-tiles',          'tiles-ceramics', 'Wandtegels',                     'Wall tiles',                            ARRAY['17 01 03']::text[]),
    ('floor-tiles',         'tiles-ceramics', 'Vloertegels',                    'Floor tiles',                           ARRAY['17 01 03']::text[]),
    ('ceramic-roof-tiles',  'tiles-ceramics', 'Keramische dakpannen',           'Clay roof tiles',                       ARRAY['17 01 03']::text[]),

    -- Wood (17 02 01). Treated wood is 17 02 01 when painted or varnished, but 17 02 04*
    -- (hazardous) when impregnated with e.g. creosote or CCA salts, so it lists both.
    ('wood',                NULL,             'Hout',                           'Wood',                                  ARRAY['17 02 01']::text[]),
    ('wood-beams',          'wood',           'Balken',                         'Beams and joists',                      ARRAY['17 02 01']::text[]),
    ('wood-planks',         'wood',           'Planken en delen',               'Planks and boards',                     ARRAY['17 02 01']::text[]),
    ('wood-sheet',          'wood',           'Plaatmateriaal',                 'Sheet material',                        ARRAY['17 02 01']::text[]),
    ('wood-plywood',        'wood-sheet',     'Multiplex',                      'Plywood',                               ARRAY['17 02 01']::text[]),
    ('wood-osb',            'wood-sheet',     'OSB',                            'OSB (oriented strand board)',           ARRAY['17 02 01']::text[]),
    ('wood-mdf',            'wood-sheet',     'MDF',                            'MDF (medium-density fibreboard)',       ARRAY['17 02 01']::text[]),
    ('wood-hardwood',       'wood',           'Hardhout',                       'Hardwood',                              ARRAY['17 02 01']::text[]),
    ('wood-treated',        'wood',           'Behandeld hout',                 'Treated wood',                          ARRAY['17 02 01', '17 02 04']::text[]),

    -- Glass (17 02 02)
    ('glass',               NULL,             'Glas',                           'Glass',                                 ARRAY['17 02 02']::text[]),
    ('glass-flat',          'glass',          'Vlakglas',                       'Flat glass',                            ARRAY['17 02 02']::text[]),
    ('glass-insulated',     'glass',          'Isolatieglas (dubbel glas)',     'Insulated glazing units (double glazing)', ARRAY['17 02 02']::text[]),

    -- Plastics (17 02 03)
    ('plastics',            NULL,             'Kunststoffen',                   'Plastics',                              ARRAY['17 02 03']::text[]),
    ('plastic-pipes',       'plastics',       'Kunststof buizen',               'Plastic pipes',                         ARRAY['17 02 03']::text[]),
    ('plastic-sheets',      'plastics',       'Kunststof platen',               'Plastic sheets',                        ARRAY['17 02 03']::text[]),
    ('pvc-window-profiles', 'plastics',       'PVC-kozijnprofielen',            'PVC window profiles',                   ARRAY['17 02 03']::text[]),

    -- Bituminous mixtures (17 03 02; with coal tar 17 03 01*, hazardous)
    ('bituminous',          NULL,             'Bitumineuze mengsels',           'Bituminous mixtures',                   ARRAY['17 03 02']::text[]),
    ('asphalt',             'bituminous',     'Asfalt',                         'Asphalt',                               ARRAY['17 03 02']::text[]),
    ('asphalt-tar',         'asphalt',        'Teerhoudend asfalt',             'Tar-containing asphalt',                ARRAY['17 03 01']::text[]),
    ('bituminous-roofing',  'bituminous',     'Bitumineuze dakbedekking',       'Bituminous roofing',                    ARRAY['17 03 02']::text[]),

    -- Metals, by kind (17 04 xx)
    ('metals',              NULL,             'Metalen',                        'Metals',                                '{}'::text[]),
    ('iron-steel',          'metals',         'IJzer en staal',                 'Iron and steel',                        ARRAY['17 04 05']::text[]),
    ('steel-profiles',      'iron-steel',     'Stalen profielen en balken',     'Steel sections and beams',              ARRAY['17 04 05']::text[]),
    ('reinforcing-steel',   'iron-steel',     'Betonstaal (wapening)',          'Reinforcing steel (rebar)',             ARRAY['17 04 05']::text[]),
    ('copper-alloys',       'metals',         'Koper, brons en messing',        'Copper, bronze and brass',              ARRAY['17 04 01']::text[]),
    ('aluminium',           'metals',         'Aluminium',                      'Aluminium',                             ARRAY['17 04 02']::text[]),
    ('lead',                'metals',         'Lood',                           'Lead',                                  ARRAY['17 04 03']::text[]),
    ('zinc',                'metals',         'Zink',                           'Zinc',                                  ARRAY['17 04 04']::text[]),
    ('tin',                 'metals',         'Tin',                            'Tin',                                   ARRAY['17 04 06']::text[]),
    ('metals-mixed',        'metals',         'Gemengde metalen',               'Mixed metals',                          ARRAY['17 04 07']::text[]),
    ('metal-cables',        'metals',         'Kabels (schroot)',               'Cables (scrap)',                        ARRAY['17 04 11']::text[]),

    -- Insulation (17 06 04)
    ('insulation',          NULL,             'Isolatiemateriaal',              'Insulation',                            ARRAY['17 06 04']::text[]),
    ('mineral-wool',        'insulation',     'Minerale wol (glas- en steenwol)', 'Mineral wool (glass and stone wool)', ARRAY['17 06 04']::text[]),
    ('eps-xps',             'insulation',     'EPS en XPS',                     'EPS and XPS',                           ARRAY['17 06 04']::text[]),
    ('pir-pur',             'insulation',     'PIR en PUR',                     'PIR and PUR',                           ARRAY['17 06 04']::text[]),
    ('natural-insulation',  'insulation',     'Natuurlijke isolatie (houtvezel, cellulose)', 'Natural insulation (wood fibre, cellulose)', ARRAY['17 06 04']::text[]),

    -- Gypsum (17 08 02)
    ('gypsum',              NULL,             'Gips',                           'Gypsum',                                ARRAY['17 08 02']::text[]),
    ('plasterboard',        'gypsum',         'Gipsplaat',                      'Plasterboard',                          ARRAY['17 08 02']::text[]),
    ('gypsum-blocks',       'gypsum',         'Gipsblokken',                    'Gypsum blocks',                         ARRAY['17 08 02']::text[]),

    -- Soil and stones (17 05 04; track ballast 17 05 08)
    ('soil-stones',         NULL,             'Grond en stenen',                'Soil and stones',                       ARRAY['17 05 04']::text[]),
    ('soil',                'soil-stones',    'Grond',                          'Soil',                                  ARRAY['17 05 04']::text[]),
    ('gravel',              'soil-stones',    'Grind',                          'Gravel',                                ARRAY['17 05 04']::text[]),
    ('sand',                'soil-stones',    'Zand',                           'Sand',                                  ARRAY['17 05 04']::text[]),
    ('track-ballast',       'soil-stones',    'Spoorwegballast',                'Track ballast',                         ARRAY['17 05 08']::text[]),

    -- Mixed construction and demolition waste (17 09 04)
    ('mixed',               NULL,             'Gemengd bouw- en sloopafval',    'Mixed construction and demolition waste', ARRAY['17 09 04']::text[]),

    -- ----------------------------------------------------------------- products
    -- Doors
    ('doors',               NULL,             'Deuren',                         'Doors',                                 '{}'::text[]),
    ('doors-interior',      'doors',          'Binnendeuren',                   'Interior doors',                        ARRAY['17 02 01']::text[]),
    ('doors-exterior',      'doors',          'Buitendeuren',                   'Exterior doors',                        '{}'::text[]),
    ('doors-fire',          'doors',          'Branddeuren',                    'Fire doors',                            '{}'::text[]),
    ('door-frames',         'doors',          'Deurkozijnen',                   'Door frames',                           '{}'::text[]),
    ('door-hardware',       'doors',          'Deurbeslag',                     'Door hardware',                         ARRAY['17 04 07']::text[]),

    -- Windows and frames
    ('windows',             NULL,             'Ramen en kozijnen',              'Windows and frames',                    '{}'::text[]),
    ('window-frames-wood',  'windows',        'Houten kozijnen',                'Wooden window frames',                  ARRAY['17 02 01']::text[]),
    ('window-frames-aluminium', 'windows',    'Aluminium kozijnen',             'Aluminium window frames',               ARRAY['17 04 02']::text[]),
    ('window-frames-plastic', 'windows',      'Kunststof kozijnen',             'Plastic window frames',                 ARRAY['17 02 03']::text[]),
    ('window-sills',        'windows',        'Vensterbanken',                  'Window sills',                          '{}'::text[]),

    -- Structural elements
    ('structural',          NULL,             'Constructieve elementen',        'Structural elements',                   '{}'::text[]),
    ('steel-beams',         'structural',     'Stalen liggers',                 'Steel beams',                           ARRAY['17 04 05']::text[]),
    ('timber-beams',        'structural',     'Houten liggers',                 'Timber beams',                          ARRAY['17 02 01']::text[]),
    ('hollow-core-slabs',   'structural',     'Kanaalplaatvloeren',             'Hollow-core concrete slabs',            ARRAY['17 01 01']::text[]),
    ('columns',             'structural',     'Kolommen',                       'Columns',                               '{}'::text[]),

    -- Floor, wall and ceiling systems
    ('floor-wall-panels',   NULL,             'Vloer-, wand- en plafondsystemen', 'Floor, wall and ceiling systems',     '{}'::text[]),
    ('raised-floor-tiles',  'floor-wall-panels', 'Systeemvloeren',              'Raised access floor tiles',             '{}'::text[]),
    ('system-walls',        'floor-wall-panels', 'Systeemwanden',               'Demountable partition walls',           '{}'::text[]),
    ('ceiling-tiles',       'floor-wall-panels', 'Systeemplafonds',             'Suspended ceiling tiles',               '{}'::text[]),
    ('wall-panels',         'floor-wall-panels', 'Wandpanelen',                 'Wall panels',                           '{}'::text[]),

    -- Sanitary ware
    ('sanitary',            NULL,             'Sanitair',                       'Sanitary ware',                         '{}'::text[]),
    ('toilets',             'sanitary',       'Toiletten',                      'Toilets',                               ARRAY['17 01 03']::text[]),
    ('washbasins',          'sanitary',       'Wastafels',                      'Washbasins',                            ARRAY['17 01 03']::text[]),
    ('baths',               'sanitary',       'Ligbaden',                       'Baths',                                 '{}'::text[]),
    ('showers',             'sanitary',       'Douches',                        'Showers',                               '{}'::text[]),
    ('taps',                'sanitary',       'Kranen',                         'Taps',                                  ARRAY['17 04 01']::text[]),

    -- Heating
    ('heating',             NULL,             'Verwarming',                     'Heating',                               '{}'::text[]),
    ('radiators',           'heating',        'Radiatoren',                     'Radiators',                             ARRAY['17 04 05']::text[]),
    ('heating-pipes',       'heating',        'Verwarmingsleidingen',           'Heating pipes',                         '{}'::text[]),

    -- Kitchens
    ('kitchens',            NULL,             'Keukens',                        'Kitchens',                              '{}'::text[]),
    ('kitchen-units',       'kitchens',       'Keukenkasten',                   'Kitchen units',                         ARRAY['17 02 01']::text[]),
    ('worktops',            'kitchens',       'Aanrechtbladen',                 'Worktops',                              '{}'::text[]),
    ('kitchen-appliances',  'kitchens',       'Keukenapparatuur',               'Kitchen appliances',                    '{}'::text[]),

    -- Lighting
    ('lighting',            NULL,             'Verlichting',                    'Lighting',                              '{}'::text[]),
    ('luminaires',          'lighting',       'Armaturen',                      'Luminaires',                            '{}'::text[]),
    ('led-panels',          'lighting',       'Ledpanelen',                     'LED panels',                            '{}'::text[]),

    -- Electrical
    ('electrical',          NULL,             'Elektra',                        'Electrical',                            '{}'::text[]),
    ('electrical-cables',   'electrical',     'Elektriciteitskabels',           'Electrical cables',                     ARRAY['17 04 11']::text[]),
    ('switches-sockets',    'electrical',     'Schakelaars en stopcontacten',   'Switches and sockets',                  '{}'::text[]),

    -- Roofing
    ('roofing',             NULL,             'Daken',                          'Roofing',                               '{}'::text[]),
    ('roof-tiles',          'roofing',        'Dakpannen',                      'Roof tiles',                            '{}'::text[]),
    ('roofing-sheets',      'roofing',        'Dakplaten',                      'Roofing sheets',                        '{}'::text[]),
    ('gutters',             'roofing',        'Dakgoten en regenpijpen',        'Gutters and downpipes',                 '{}'::text[]),

    -- Stairs and railings
    ('stairs-railings',     NULL,             'Trappen en balustrades',         'Stairs and railings',                   '{}'::text[]),
    ('stairs',              'stairs-railings', 'Trappen',                       'Stairs',                                '{}'::text[]),
    ('railings',            'stairs-railings', 'Balustrades en leuningen',      'Railings and balustrades',              '{}'::text[]),

    -- Facade elements
    ('facade',              NULL,             'Gevelelementen',                 'Facade elements',                       '{}'::text[]),
    ('facade-panels',       'facade',         'Gevelpanelen',                   'Facade panels',                         '{}'::text[]),
    ('cladding',            'facade',         'Gevelbekleding',                 'Cladding',                              '{}'::text[])
) AS v (code, parent_code, name_nl, name_en, eural_codes);
