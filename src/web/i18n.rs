//! The pages' words in Dutch and English: one table, a key per text, both languages beside
//! each other so that neither falls behind.

use crate::domain::account::Locale;
use std::collections::BTreeMap;
use std::sync::OnceLock;

/// A language the pages speak.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Lang {
    #[default]
    Nl,
    En,
}

impl Lang {
    pub fn parse(code: &str) -> Option<Lang> {
        match code {
            "nl" => Some(Lang::Nl),
            "en" => Some(Lang::En),
            _ => None,
        }
    }

    pub fn of(locale: Locale) -> Lang {
        match locale {
            Locale::Nl => Lang::Nl,
            Locale::En => Lang::En,
        }
    }

    /// The first of the browser's languages that we speak.
    pub fn from_accept_language(header: &str) -> Option<Lang> {
        header
            .split(',')
            .map(|part| {
                part.split(';')
                    .next()
                    .unwrap_or("")
                    .trim()
                    .to_ascii_lowercase()
            })
            .find_map(|tag| Lang::parse(tag.split('-').next().unwrap_or("")))
    }

    pub fn code(self) -> &'static str {
        match self {
            Lang::Nl => "nl",
            Lang::En => "en",
        }
    }

    pub fn other(self) -> Lang {
        match self {
            Lang::Nl => Lang::En,
            Lang::En => Lang::Nl,
        }
    }
}

/// Key, Dutch, English.
const STRINGS: &[(&str, &str, &str)] = &[
    ("skip_to_content", "Naar de inhoud", "Skip to content"),
    ("nav_label", "Hoofdmenu", "Main menu"),
    ("nav_map", "Voorraadkaart", "Stock map"),
    ("nav_workspace", "Mijn organisatie", "My organisation"),
    ("nav_console", "Console", "Console"),
    ("nav_flows", "Stromen", "Flows"),
    ("sign_in", "Inloggen", "Sign in"),
    ("sign_out", "Uitloggen", "Sign out"),
    ("other_language", "English", "Nederlands"),
    ("footer", "kringloop: bouwmaterialen in de kringloop van de stad", "kringloop: building materials in the city's loop"),
    ("open_data", "Open data", "Open data"),
    ("error_title", "Dat lukte niet", "That did not work"),
    ("back_home", "Naar de voorraadkaart", "To the stock map"),
    ("email", "E-mailadres", "E-mail address"),
    ("password", "Wachtwoord", "Password"),
    ("no_account", "Nog geen account? Uw organisatie registreert zich via de API (POST /api/v1/organisations); de materialenmakelaar van de gemeente verifieert haar.", "No account yet? Your organisation registers through the API (POST /api/v1/organisations); the city's materials broker verifies it."),
    ("login_failed", "E-mailadres of wachtwoord klopt niet.", "E-mail address or password is wrong."),
    ("login_throttled", "Te veel pogingen. Probeer het over enkele minuten opnieuw.", "Too many attempts. Try again in a few minutes."),
    ("busy", "De dienst is even druk. Probeer het zo opnieuw.", "The service is busy. Try again shortly."),
    ("map_title", "Bouwmaterialen in de stad", "Building materials in the city"),
    ("map_lede", "Wat sloop- en bouwprojecten aanbieden of binnenkort vrijgeven, op de kaart van de wijken. Locaties zijn afgerond.", "What demolition and building sites offer or will soon release, on the map of the districts. Locations are rounded."),
    ("search", "Zoeken", "Search"),
    ("search_words", "Zoekwoorden", "Words"),
    ("search_words_example", "bijv. deur, eiken, baksteen", "e.g. door, oak, brick"),
    ("category", "Categorie", "Category"),
    ("all_categories", "Alle categorieën", "All categories"),
    ("near_district", "In of bij wijk", "In or near district"),
    ("anywhere", "Overal", "Anywhere"),
    ("radius_km", "Straal (km)", "Radius (km)"),
    ("condition_min", "Minimale staat", "Minimum condition"),
    ("any_condition", "Elke staat", "Any condition"),
    ("condition", "Staat", "Condition"),
    ("condition_poor", "Slecht", "Poor"),
    ("condition_fair", "Redelijk", "Fair"),
    ("condition_good", "Goed", "Good"),
    ("condition_as_new", "Zo goed als nieuw", "As new"),
    ("condition_new", "Nieuw", "New"),
    ("search_invalid", "De zoekvraag klopt niet:", "The search is not valid:"),
    ("save_as_wish", "Bewaar als wens en word op de hoogte gehouden", "Save as a wish and be told of new matches"),
    ("save_wish", "Wens bewaren", "Save wish"),
    ("quantity", "Hoeveelheid", "Quantity"),
    ("unit", "Eenheid", "Unit"),
    ("unit_piece", "stuks", "pieces"),
    ("unit_kg", "kg", "kg"),
    ("unit_t", "ton", "t"),
    ("unit_m", "m", "m"),
    ("unit_m2", "m²", "m²"),
    ("unit_m3", "m³", "m³"),
    ("notify", "Bericht", "Tell me"),
    ("notify_instant", "Direct per match", "At once, per match"),
    ("notify_daily", "Eén mail per dag", "One mail a day"),
    ("include_announced", "Ook materiaal dat nog vrijkomt (aangekondigd)", "Also material still to be released (announced)"),
    ("map", "Kaart", "Map"),
    ("map_of_lots", "Kaart van de wijken met het aanbod", "Map of the districts with the lots"),
    ("results", "Aanbod", "Lots"),
    ("free", "Gratis", "Free"),
    ("status", "Status", "Status"),
    ("status_announced", "Aangekondigd", "Announced"),
    ("status_available", "Beschikbaar", "Available"),
    ("status_reserved", "Gereserveerd", "Reserved"),
    ("status_closed", "Afgesloten", "Closed"),
    ("status_withdrawn", "Ingetrokken", "Withdrawn"),
    ("status_expired", "Verlopen", "Expired"),
    ("more_results", "Meer aanbod", "More lots"),
    ("no_results", "Geen aanbod gevonden. Probeer andere woorden of een grotere straal, of bewaar de zoekvraag als wens.", "No lots found. Try other words or a larger radius, or save the search as a wish."),
    ("back_to_map", "Terug naar de kaart", "Back to the map"),
    ("available_quantity", "Beschikbaar", "Available"),
    ("mass", "Massa", "Mass"),
    ("available_from", "Beschikbaar vanaf", "Available from"),
    ("price", "Prijs per eenheid", "Price per unit"),
    ("district", "Wijk", "District"),
    ("pickup", "Ophalen bij", "Pick up at"),
    ("note", "Opmerking", "Note"),
    ("reserve", "Reserveren", "Reserve"),
    ("sign_in_to_reserve", "Log in om te reserveren", "Sign in to reserve"),
    ("passport", "Materiaalpaspoort", "Material passport"),
    ("name", "Naam", "Name"),
    ("description", "Omschrijving", "Description"),
    ("composition", "Samenstelling", "Composition"),
    ("dimensions", "Afmetingen", "Dimensions"),
    ("hazards", "Gevaarlijke stoffen", "Hazardous substances"),
    ("documents", "Documenten", "Documents"),
    ("document_clearance", "vrijgave", "clearance"),
    ("document_certificate", "certificaat", "certificate"),
    ("document_datasheet", "productblad", "datasheet"),
    ("document_photo", "foto", "photo"),
    ("document_other", "overig", "other"),
    ("clears", "geeft vrij:", "clears:"),
    ("no_documents", "Geen documenten.", "No documents."),
    ("custody_chain", "Herkomstketen", "Custody chain"),
    ("chain_verified", "De keten klopt: elke gebeurtenis verwijst naar de vorige.", "The chain verifies: every event refers to the one before."),
    ("chain_broken", "De keten klopt niet.", "The chain does not verify."),
    ("event", "Gebeurtenis", "Event"),
    ("when", "Wanneer", "When"),
    ("hash", "Hash", "Hash"),
    ("console_title", "Console van de materialenmakelaar", "The materials broker's console"),
    ("console_sections", "Onderdelen van de console", "Sections of the console"),
    ("organisations", "Organisaties", "Organisations"),
    ("organisations_to_verify", "Te verifiëren organisaties", "Organisations to verify"),
    ("verified_organisations", "Geverifieerde en geschorste organisaties", "Verified and suspended organisations"),
    ("kind", "Soort", "Kind"),
    ("kind_contractor", "Sloop/aannemer", "Contractor"),
    ("kind_makerspace", "Makerspace", "Makerspace"),
    ("kind_builder", "Bouwer", "Builder"),
    ("kind_recycler", "Recycler", "Recycler"),
    ("kind_initiative", "Buurtinitiatief", "Citizen initiative"),
    ("kind_municipality", "Gemeente", "Municipality"),
    ("kind_hub", "Materialenhub", "Materials hub"),
    ("org_unverified", "Niet geverifieerd", "Unverified"),
    ("org_verified", "Geverifieerd", "Verified"),
    ("org_suspended", "Geschorst", "Suspended"),
    ("registered", "Aangemeld", "Registered"),
    ("actions", "Acties", "Actions"),
    ("verify", "Verifiëren", "Verify"),
    ("suspend", "Schorsen", "Suspend"),
    ("reinstate", "Herstellen", "Reinstate"),
    ("reason", "Reden", "Reason"),
    ("nobody_waiting", "Niemand wacht op verificatie.", "Nobody is waiting to be verified."),
    ("failed_mails", "Mislukte mails", "Failed mails"),
    ("attempts", "Pogingen", "Attempts"),
    ("last_error", "Laatste fout", "Last error"),
    ("retry", "Opnieuw proberen", "Retry"),
    ("no_failed_mails", "Geen mislukte mails.", "No failed mails."),
    ("currency", "Munt", "Currency"),
    ("taxonomy", "Categorieën", "Categories"),
    ("districts", "Wijken", "Districts"),
    ("show_all", "Toon alle", "Show all"),
    ("code", "Code", "Code"),
    ("retired", "Vervallen", "Retired"),
    ("in_use", "In gebruik", "In use"),
    ("notice_verified", "De organisatie is geverifieerd.", "The organisation is verified."),
    ("notice_suspended", "De organisatie is geschorst.", "The organisation is suspended."),
    ("notice_unverified", "De verificatie is ingetrokken.", "The verification is withdrawn."),
    ("notice_retried", "De mail wordt opnieuw verstuurd.", "The mail will be sent again."),
    ("notice_reserved", "Gereserveerd. De aanbieder is op de hoogte gebracht.", "Reserved. The donor has been told."),
    ("notice_wish_saved", "Uw wens is bewaard. U hoort het zodra er aanbod bij past.", "Your wish is saved. You will be told as soon as a lot fits it."),
    ("notice_wish_deleted", "De wens is verwijderd.", "The wish is deleted."),
    ("notice_passport_created", "Het paspoort is aangemaakt.", "The passport is created."),
    ("notice_hazard_cleared", "De vrijgave is toegevoegd.", "The clearance is added."),
    ("notice_announced", "Het aanbod staat op de kaart.", "The lot is on the map."),
    ("notice_withdrawn", "Het aanbod is ingetrokken.", "The lot is withdrawn."),
    ("notice_bundle_accepted", "De bundel is aangenomen; de partijen zijn voor u gereserveerd.", "The bundle is accepted; its lots are reserved for you."),
    ("bundles", "Bundels", "Bundles"),
    ("bundle_summary", "partijen van", "lots from"),
    ("donors", "aanbieders", "donors"),
    ("accept_bundle", "Bundel aannemen", "Accept the bundle"),
    ("notice_declined", "De match is afgewezen.", "The match is declined."),
    ("notice_handed_over", "De overdracht is vastgelegd.", "The hand-over is recorded."),
    ("notice_confirmed", "Bevestigd. Dank u.", "Confirmed. Thank you."),
    ("notice_disputed", "Uw bezwaar is vastgelegd; de makelaar kijkt ernaar.", "Your dispute is recorded; the broker will look at it."),
    ("notice_cancelled", "De reservering is geannuleerd.", "The reservation is cancelled."),
    ("flows_title", "Materiaalstromen tussen de wijken", "Material flows between the districts"),
    ("flows_lede", "Overgedragen materiaal in deze periode:", "Material handed over in this period:"),
    ("from_month", "Van", "From"),
    ("to_month", "Tot en met", "Up to"),
    ("show", "Tonen", "Show"),
    ("sankey_title", "Stromen van herkomst- naar bestemmingswijk", "Flows from district of origin to destination"),
    ("origin", "Herkomst", "Origin"),
    ("destination", "Bestemming", "Destination"),
    ("choropleth_title", "Wijken naar uitstroom, instroom of aangeboden voorraad", "Districts by outflow, inflow or listed stock"),
    ("measure", "Maat", "Measure"),
    ("outflow", "Uitstroom", "Outflow"),
    ("inflow", "Instroom", "Inflow"),
    ("listed_stock", "Aangeboden voorraad", "Listed stock"),
    ("pipeline_title", "Aanbod in aantocht tegenover vraag, per maand", "Supply ahead against demand, per month"),
    ("month", "Maand", "Month"),
    ("supply", "Aanbod", "Supply"),
    ("demand", "Vraag", "Demand"),
    ("gap", "Verschil", "Gap"),
    ("forecast_title", "Verwacht aanbod met onzekerheid", "Supply forecast with its intervals"),
    ("expected", "Verwacht", "Expected"),
    ("interval_low", "80%-interval laag", "80% interval low"),
    ("interval_high", "80%-interval hoog", "80% interval high"),
    ("backtest_error", "fout in de terugtoets", "back-test error"),
    ("no_forecast", "Nog te weinig geschiedenis voor een voorspelling.", "Too little history for a forecast yet."),
    ("city", "De hele stad", "The whole city"),
    ("workspace_title", "Mijn organisatie", "My organisation"),
    ("workspace_sections", "Onderdelen", "Sections"),
    ("not_verified_yet", "Uw organisatie is nog niet geverifieerd door de materialenmakelaar. Tot dan kunt u rondkijken maar niet aanbieden, wensen of reserveren.", "Your organisation has not been verified by the materials broker yet. Until then you can look around but not offer, wish or reserve."),
    ("passports", "Paspoorten", "Passports"),
    ("listings", "Aanbod", "Lots"),
    ("wishes", "Wensen", "Wishes"),
    ("wish", "Wens", "Wish"),
    ("matches", "Matches", "Matches"),
    ("reservations", "Reserveringen", "Reservations"),
    ("reservation", "Reservering", "Reservation"),
    ("account", "Rekening", "Account"),
    ("new_passport", "Nieuw paspoort", "New passport"),
    ("listable", "Aan te bieden", "Can be offered"),
    ("yes", "Ja", "Yes"),
    ("no", "Nee", "No"),
    ("no_passports", "Nog geen paspoorten.", "No passports yet."),
    ("title", "Titel", "Title"),
    ("withdraw", "Intrekken", "Withdraw"),
    ("no_listings", "Nog geen aanbod.", "No lots yet."),
    ("wish_hint", "Een wens maakt u op de voorraadkaart: zoek, en bewaar de zoekvraag als wens.", "Make a wish on the stock map: search, then save the search as a wish."),
    ("no_wishes", "Nog geen wensen.", "No wishes yet."),
    ("lot", "Partij", "Lot"),
    ("score", "Score", "Score"),
    ("predicted", "verwacht", "expected"),
    ("match_open", "Open", "Open"),
    ("match_accepted", "Geaccepteerd", "Accepted"),
    ("match_declined", "Afgewezen", "Declined"),
    ("match_retracted", "Vervallen", "Retracted"),
    ("decline", "Afwijzen", "Decline"),
    ("no_matches", "Nog geen matches.", "No matches yet."),
    ("role", "Rol", "Role"),
    ("giving", "Wij geven", "We give"),
    ("receiving", "Wij ontvangen", "We receive"),
    ("reservation_held", "Vastgehouden", "Held"),
    ("reservation_handed_over", "Overgedragen", "Handed over"),
    ("reservation_cancelled", "Geannuleerd", "Cancelled"),
    ("reservation_expired", "Verlopen", "Expired"),
    ("no_reservations", "Nog geen reserveringen.", "No reservations yet."),
    ("form_has_errors", "Het formulier is nog niet goed:", "The form is not right yet:"),
    ("eural_code", "EURAL-code (Europese afvalcatalogus)", "EURAL code (European List of Waste)"),
    ("unit_mass", "Massa per eenheid", "Mass per unit"),
    ("grams", "Gram", "Grams"),
    ("per", "Per", "Per"),
    ("site", "Project of locatie", "Site"),
    ("building_year", "Bouwjaar", "Year built"),
    ("latitude", "Breedtegraad", "Latitude"),
    ("longitude", "Lengtegraad", "Longitude"),
    ("hazard_substance", "Gevaarlijke stof", "Hazardous substance"),
    ("hazard_hint", "Noem een gevaarlijke stof (bijv. asbest) als die aanwezig kan zijn. Het materiaal kan pas worden aangeboden met een vrijgavedocument.", "Name a hazardous substance (e.g. asbestos) if it may be present. The material can only be offered with a clearance document."),
    ("create_passport", "Paspoort aanmaken", "Create passport"),
    ("uncleared_hazards", "Nog niet vrijgegeven", "Not yet cleared"),
    ("clearance_hint", "Voeg het vrijgavedocument toe (bijv. een asbestinventarisatie): de link en de SHA-256 van het bestand.", "Add the clearance document (e.g. an asbestos survey): its link and the file's SHA-256."),
    ("document_title", "Titel van het document", "Document title"),
    ("document_url", "Link naar het document", "Link to the document"),
    ("document_sha256", "SHA-256 van het bestand", "SHA-256 of the file"),
    ("clear_hazard", "Vrijgave toevoegen", "Add clearance"),
    ("announce_lot", "Aanbieden", "Offer a lot"),
    ("pickup_address", "Ophaaladres", "Pick-up address"),
    ("price_per_unit", "Prijs per eenheid (leeg of 0: gratis)", "Price per unit (empty or 0: free)"),
    ("announce", "Aanbieden", "Offer"),
    ("why", "Waarom", "Why"),
    ("delete_wish", "Wens verwijderen", "Delete wish"),
    ("held_until", "Vastgehouden tot", "Held until"),
    ("hand_over", "Overdracht vastleggen", "Record the hand-over"),
    ("cancel_reservation", "Reservering annuleren", "Cancel the reservation"),
    ("confirm_receipt", "Ontvangst bevestigen", "Confirm receipt"),
    ("confirm", "Bevestigen", "Confirm"),
    ("what_was_wrong", "Wat was er mis?", "What was wrong?"),
    ("dispute", "Bezwaar maken", "Dispute"),
    ("balance", "Saldo", "Balance"),
    ("available_balance", "Beschikbaar", "Available"),
    ("credit_limit", "Kredietlimiet", "Credit limit"),
    ("statement", "Afschrift", "Statement"),
    ("amount", "Bedrag", "Amount"),
    ("balance_after", "Saldo na", "Balance after"),
    ("older_entries", "Oudere boekingen", "Older entries"),
    ("no_entries", "Nog geen boekingen.", "No entries yet."),
    ("notification_settings", "Berichtinstellingen", "Notification settings"),
    ("settings_email", "Stuur mij e-mail (het overzicht in de dienst vult zich altijd)", "Send me e-mail (the feed in the service always fills)"),
    ("save", "Opslaan", "Save"),
    ("members", "Leden", "Members"),
    ("role_owner", "Eigenaar", "Owner"),
    ("role_member", "Lid", "Member"),
    ("accept", "Accepteren", "Accept"),
    ("edit", "Wijzigen", "Edit"),
    ("edit_lot", "Aanbod wijzigen", "Change the lot"),
    ("add_document", "Document toevoegen", "Add a document"),
    ("document_kind", "Soort document", "Kind of document"),
    ("notice_document_added", "Het document is toegevoegd.", "The document is added."),
    ("notice_accepted", "De match is geaccepteerd; reserveer op de pagina van de partij.", "The match is accepted; reserve on the lot's page."),
    ("notice_settings_saved", "De instellingen zijn opgeslagen.", "The settings are saved."),
    // The console's moderation and audit log.
    ("moderation", "Moderatie", "Moderation"),
    ("moderation_id", "Id van de partij of wens", "Id of the lot or wish"),
    ("moderation_hide", "Verbergen", "Hide"),
    ("moderation_restore", "Terugzetten", "Restore"),
    ("moderation_hidden", "Verborgen partijen en wensen", "Hidden lots and wishes"),
    ("moderation_what", "Wat", "What"),
    ("moderation_none", "Er is niets verborgen.", "Nothing is hidden."),
    ("notice_hidden", "Verborgen; de eigenaar is ingelicht.", "Hidden; the owner has been told."),
    ("notice_restored", "Teruggezet; de eigenaar is ingelicht.", "Restored; the owner has been told."),
    ("audit_log", "Auditlog", "Audit log"),
    ("audit_who", "Wie", "Who"),
    ("audit_action", "Handeling", "Action"),
    ("audit_object", "Object", "Object"),
    ("audit_empty", "Nog geen handelingen van makelaars.", "No broker actions yet."),
    ("audit_older", "Oudere handelingen", "Older actions"),
    ("audit_newest", "Nieuwste handelingen", "Newest actions"),
    ("audit_verify_organisation", "Organisatie geverifieerd", "Organisation verified"),
    ("audit_unverify_organisation", "Verificatie ingetrokken", "Verification withdrawn"),
    ("audit_suspend_organisation", "Organisatie geschorst", "Organisation suspended"),
    ("audit_create_category", "Categorie aangemaakt", "Category created"),
    ("audit_update_category", "Categorie gewijzigd", "Category changed"),
    ("audit_delete_category", "Categorie verwijderd", "Category deleted"),
    ("audit_replace_districts", "Wijken vervangen", "Districts replaced"),
    ("audit_configure_currency", "Munt ingesteld", "Currency configured"),
    ("audit_issue_money", "Geld uitgegeven", "Money issued"),
    ("audit_reverse_transfer", "Overboeking teruggedraaid", "Transfer reversed"),
    ("audit_set_credit_limit", "Kredietlimiet ingesteld", "Credit limit set"),
    ("audit_retry_outbox", "Mail opnieuw verstuurd", "Mail sent again"),
    ("audit_hide_listing", "Partij verborgen", "Lot hidden"),
    ("audit_restore_listing", "Partij teruggezet", "Lot restored"),
    ("audit_hide_wish", "Wens verborgen", "Wish hidden"),
    ("audit_restore_wish", "Wens teruggezet", "Wish restored"),
    ("audit_object_organisation", "Organisatie", "Organisation"),
    ("audit_object_category", "Categorie", "Category"),
    ("audit_object_districts", "Wijken", "Districts"),
    ("audit_object_currency", "Munt", "Currency"),
    ("audit_object_account", "Rekening", "Account"),
    ("audit_object_transfer", "Overboeking", "Transfer"),
    ("audit_object_outbox", "Bericht", "Notification"),
    ("audit_object_listing", "Partij", "Lot"),
    ("audit_object_wish", "Wens", "Wish"),
    // Passport pages: photos and the public passport.
    ("passport_photos", "Foto's", "Photos"),
    ("passport_no_photos", "Nog geen foto's.", "No photos yet."),
    ("passport_no_hazards", "Geen", "None"),
    ("passport_hazard_cleared", "vrijgegeven", "cleared"),
    ("passport_hazard_uncleared", "niet vrijgegeven", "not cleared"),
    ("passport_export", "Paspoort downloaden (kringloop-passport/2)", "Download the passport (kringloop-passport/2)"),
    ("passport_public_page", "Openbare paspoortpagina", "Public passport page"),
    ("photo_upload", "Foto toevoegen", "Add a photo"),
    ("photo_file", "Foto (JPEG, PNG of WebP)", "Photo (JPEG, PNG or WebP)"),
    ("photo_title", "Titel", "Title"),
    ("photo_upload_button", "Uploaden", "Upload"),
];

/// The words of `lang`, by key.
pub fn strings(lang: Lang) -> &'static BTreeMap<&'static str, &'static str> {
    static NL: OnceLock<BTreeMap<&'static str, &'static str>> = OnceLock::new();
    static EN: OnceLock<BTreeMap<&'static str, &'static str>> = OnceLock::new();
    match lang {
        Lang::Nl => NL.get_or_init(|| STRINGS.iter().map(|row| (row.0, row.1)).collect()),
        Lang::En => EN.get_or_init(|| STRINGS.iter().map(|row| (row.0, row.2)).collect()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashSet;

    #[test]
    fn every_key_once_and_both_languages_filled() {
        let mut seen = HashSet::new();
        for (key, nl, en) in STRINGS {
            assert!(seen.insert(key), "{key} twice");
            assert!(
                !nl.trim().is_empty() && !en.trim().is_empty(),
                "{key} empty"
            );
        }
    }

    #[test]
    fn the_browser_language_is_followed() {
        assert_eq!(Lang::from_accept_language("en-GB,en;q=0.9"), Some(Lang::En));
        assert_eq!(
            Lang::from_accept_language("de-DE, nl;q=0.8"),
            Some(Lang::Nl)
        );
        assert_eq!(Lang::from_accept_language("fr"), None);
    }
}
