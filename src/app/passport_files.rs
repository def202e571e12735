//! Photos and documents uploaded to a passport: their type read from their bytes, photos
//! stripped of metadata with a thumbnail, each file's SHA-256 a document of the passport and
//! so fixed in its custody chain; served with the passport's read rights.

use super::actor::Actor;
use super::error::{AppError, AppResult};
use super::passports::{attach_in, file_key as key, held, visible};
use super::Ctx;
use crate::db::passports::{self as q, PassportFileRow};
use crate::db::Atomic;
use crate::domain::passport::{Document, DocumentKind};
use crate::domain::upload::{clean_photo, MediaType};
use crate::domain::validation::{FieldErrors, Invalid};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use utoipa::ToSchema;
use uuid::Uuid;

/// What an upload is to the passport.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum FileKind {
    /// An image of the lot (JPEG, PNG or WebP): a `photo` document with a thumbnail.
    #[default]
    Photo,
    /// A PDF or an image: an `other` document.
    Document,
}

/// A file of a passport.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct PassportFile {
    pub id: Uuid,
    pub passport_id: Uuid,
    /// Lower-case hex SHA-256 of the bytes as stored (photos: after their metadata was
    /// stripped); the passport's document for the file has the same hash.
    pub sha256: String,
    #[schema(example = "image/jpeg")]
    pub media_type: String,
    pub size: i64,
    pub title: Option<String>,
    /// Where the file is served.
    pub url: String,
    /// Where its thumbnail (JPEG, at most 320 px a side) is served: images only.
    pub thumbnail_url: Option<String>,
    pub created_at: DateTime<Utc>,
}

/// A file's bytes as served.
#[derive(Debug)]
pub struct FileBytes {
    pub bytes: Vec<u8>,
    pub media_type: &'static str,
    pub sha256: String,
    pub title: Option<String>,
}

fn thumbnail_key(passport_id: Uuid, id: Uuid) -> String {
    format!("passports/{passport_id}/{id}.thumb.jpg")
}

/// The address of a file (or its thumbnail) of a passport.
pub fn file_url(ctx: &Ctx, passport_id: Uuid, id: Uuid) -> String {
    format!(
        "{}/api/v1/passports/{passport_id}/files/{id}",
        ctx.public_url
    )
}

fn shown(ctx: &Ctx, row: PassportFileRow) -> PassportFile {
    let url = file_url(ctx, row.passport_id, row.id);
    PassportFile {
        id: row.id,
        passport_id: row.passport_id,
        sha256: row.sha256,
        media_type: row.media_type,
        size: row.size,
        title: row.title,
        thumbnail_url: row.has_thumbnail.then(|| format!("{url}/thumbnail")),
        url,
        created_at: row.created_at,
    }
}

fn hex_sha256(bytes: &[u8]) -> String {
    Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

fn unprocessable(code: &'static str, detail: String) -> AppError {
    FieldErrors::single("/body", Invalid::new(code, detail)).into()
}

/// Uploads a file to the holder's passport. The type is read from the bytes; `declared` (the
/// request's Content-Type), when it names a type, must agree. Images are decoded and encoded
/// again (metadata gone) and get a thumbnail. The file becomes a document of the passport in
/// the same transaction that records its hash in the custody chain.
pub async fn upload(
    ctx: &Ctx,
    actor: &Actor,
    passport_id: Uuid,
    bytes: Vec<u8>,
    declared: Option<&str>,
    kind: FileKind,
    title: Option<String>,
) -> AppResult<PassportFile> {
    actor.require_verified()?;
    {
        // Refuse strangers before decoding anything.
        let mut conn = ctx.conn().await?;
        let row = q::find(&mut conn, passport_id)
            .await?
            .ok_or(AppError::NotFound("passport"))?;
        held(&mut conn, actor, row).await?;
    }
    let media_type = MediaType::sniff(&bytes).ok_or_else(|| {
        AppError::UnsupportedMediaType(
            "the file is not a JPEG, PNG, WebP or PDF (read from its bytes)".into(),
        )
    })?;
    if let Some(declared) = declared.filter(|d| {
        let essence = d.split(';').next().unwrap_or("").trim();
        !essence.is_empty() && !essence.eq_ignore_ascii_case("application/octet-stream")
    }) {
        if MediaType::parse(declared) != Some(media_type) {
            return Err(AppError::UnsupportedMediaType(format!(
                "the request says {declared} but the bytes are {}",
                media_type.as_str()
            )));
        }
    }
    if kind == FileKind::Photo && !media_type.is_image() {
        return Err(unprocessable(
            "not_an_image",
            format!(
                "a photo must be a JPEG, PNG or WebP image, not {}",
                media_type.as_str()
            ),
        ));
    }
    let (stored, thumbnail) = if media_type.is_image() {
        let clean = tokio::task::spawn_blocking(move || clean_photo(&bytes, media_type))
            .await
            .map_err(|e| AppError::Internal(e.into()))?
            .map_err(|detail| unprocessable("bad_image", detail))?;
        (clean.bytes, Some(clean.thumbnail))
    } else {
        (bytes, None)
    };
    let sha256 = hex_sha256(&stored);
    let id = Uuid::now_v7();
    let now = ctx.now();
    let row = PassportFileRow {
        id,
        passport_id,
        sha256: sha256.clone(),
        media_type: media_type.as_str().to_owned(),
        size: stored.len() as i64,
        has_thumbnail: thumbnail.is_some(),
        title: title.map(|t| t.trim().to_owned()).filter(|t| !t.is_empty()),
        created_at: now,
    };
    let document = Document {
        url: file_url(ctx, passport_id, id),
        sha256,
        kind: match kind {
            FileKind::Photo => DocumentKind::Photo,
            FileKind::Document => DocumentKind::Other,
        },
        title: row.title.clone(),
        clears: Vec::new(),
    };
    ctx.files
        .put(&key(passport_id, id), stored)
        .await
        .map_err(AppError::Internal)?;
    if let Some(thumbnail) = thumbnail {
        ctx.files
            .put(&thumbnail_key(passport_id, id), thumbnail)
            .await
            .map_err(AppError::Internal)?;
    }
    let mut conn = ctx.conn().await?;
    let inserted = row.clone();
    let result = conn
        .transaction::<_, AppError, _>(async move |conn| {
            attach_in(conn, actor, passport_id, document, now).await?;
            q::insert_file(conn, &inserted).await?;
            Ok(())
        })
        .await;
    if let Err(error) = result {
        // Nothing refers to the bytes: forget them (best effort).
        let _ = ctx.files.delete(&key(passport_id, id)).await;
        let _ = ctx.files.delete(&thumbnail_key(passport_id, id)).await;
        return Err(error);
    }
    Ok(shown(ctx, row))
}

/// The files of a passport the actor may see, oldest first.
pub async fn list(
    ctx: &Ctx,
    actor: Option<&Actor>,
    passport_id: Uuid,
) -> AppResult<Vec<PassportFile>> {
    let mut conn = ctx.conn().await?;
    visible(&mut conn, actor, passport_id).await?;
    Ok(q::files(&mut conn, passport_id)
        .await?
        .into_iter()
        .map(|row| shown(ctx, row))
        .collect())
}

/// A file's bytes (or its thumbnail's) when the actor may see the passport.
pub async fn read(
    ctx: &Ctx,
    actor: Option<&Actor>,
    passport_id: Uuid,
    id: Uuid,
    thumbnail: bool,
) -> AppResult<FileBytes> {
    let row = {
        let mut conn = ctx.conn().await?;
        visible(&mut conn, actor, passport_id).await?;
        q::file(&mut conn, passport_id, id)
            .await?
            .ok_or(AppError::NotFound("file"))?
    };
    if thumbnail && !row.has_thumbnail {
        return Err(AppError::NotFound("thumbnail"));
    }
    let stored_key = if thumbnail {
        thumbnail_key(passport_id, id)
    } else {
        key(passport_id, id)
    };
    let bytes = ctx
        .files
        .get(&stored_key)
        .await
        .map_err(AppError::Internal)?
        .ok_or_else(|| {
            AppError::Internal(anyhow::anyhow!(
                "file {stored_key} is missing from the store"
            ))
        })?;
    let media_type = if thumbnail {
        MediaType::Jpeg
    } else {
        MediaType::parse(&row.media_type).ok_or_else(|| {
            AppError::Internal(anyhow::anyhow!("stored media type {:?}", row.media_type))
        })?
    };
    let sha256 = if thumbnail {
        hex_sha256(&bytes)
    } else {
        row.sha256
    };
    Ok(FileBytes {
        bytes,
        media_type: media_type.as_str(),
        sha256,
        title: row.title,
    })
}
