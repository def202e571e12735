//! Files uploaded to a passport: their type read from their first bytes (never from a name
//! or a header), and photos decoded and encoded again, which leaves their metadata (EXIF
//! with its GPS position, XMP, comments) behind, with a thumbnail.

use image::codecs::jpeg::JpegEncoder;
use image::{DynamicImage, ImageFormat, ImageReader, Limits};
use std::io::Cursor;

/// The longest side of a thumbnail, in pixels.
pub const THUMBNAIL_SIDE: u32 = 320;
/// The largest photo decoded, per side (a decompression bomb is refused, not decoded).
const MAX_SIDE: u32 = 12_000;
/// The most memory one decoding may take.
const MAX_ALLOC: u64 = 512 * 1024 * 1024;

/// The kinds of file a passport takes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MediaType {
    Jpeg,
    Png,
    WebP,
    Pdf,
}

impl MediaType {
    pub const ALL: [MediaType; 4] = [
        MediaType::Jpeg,
        MediaType::Png,
        MediaType::WebP,
        MediaType::Pdf,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            MediaType::Jpeg => "image/jpeg",
            MediaType::Png => "image/png",
            MediaType::WebP => "image/webp",
            MediaType::Pdf => "application/pdf",
        }
    }

    pub fn parse(text: &str) -> Option<MediaType> {
        let essence = text.split(';').next().unwrap_or("").trim();
        Self::ALL
            .into_iter()
            .find(|m| m.as_str().eq_ignore_ascii_case(essence))
            .or_else(|| {
                essence
                    .eq_ignore_ascii_case("image/jpg")
                    .then_some(MediaType::Jpeg)
            })
    }

    pub fn is_image(self) -> bool {
        self != MediaType::Pdf
    }

    /// The type the bytes are, read from their magic numbers.
    pub fn sniff(bytes: &[u8]) -> Option<MediaType> {
        if bytes.starts_with(&[0xFF, 0xD8, 0xFF]) {
            Some(MediaType::Jpeg)
        } else if bytes.starts_with(&[0x89, b'P', b'N', b'G', 0x0D, 0x0A, 0x1A, 0x0A]) {
            Some(MediaType::Png)
        } else if bytes.len() >= 12 && &bytes[..4] == b"RIFF" && &bytes[8..12] == b"WEBP" {
            Some(MediaType::WebP)
        } else if bytes.starts_with(b"%PDF-") {
            Some(MediaType::Pdf)
        } else {
            None
        }
    }

    fn format(self) -> Option<ImageFormat> {
        match self {
            MediaType::Jpeg => Some(ImageFormat::Jpeg),
            MediaType::Png => Some(ImageFormat::Png),
            MediaType::WebP => Some(ImageFormat::WebP),
            MediaType::Pdf => None,
        }
    }
}

/// A photo as it is stored: encoded again from its pixels alone, and its thumbnail (JPEG).
#[derive(Debug)]
pub struct CleanPhoto {
    pub bytes: Vec<u8>,
    pub thumbnail: Vec<u8>,
}

/// Decodes a photo and encodes it again in its own format (JPEG at quality 90, PNG, lossless
/// WebP): nothing but the pixels survives, so no EXIF, XMP or comment does. Err names why the
/// bytes are not a usable photo.
pub fn clean_photo(bytes: &[u8], media_type: MediaType) -> Result<CleanPhoto, String> {
    let format = media_type
        .format()
        .ok_or_else(|| "not an image".to_owned())?;
    let mut reader = ImageReader::with_format(Cursor::new(bytes), format);
    let mut limits = Limits::default();
    limits.max_image_width = Some(MAX_SIDE);
    limits.max_image_height = Some(MAX_SIDE);
    limits.max_alloc = Some(MAX_ALLOC);
    reader.limits(limits);
    let image = reader
        .decode()
        .map_err(|error| format!("the image does not decode: {error}"))?;
    let bytes = encode(&image, media_type)?;
    let thumbnail = encode(
        &image.thumbnail(THUMBNAIL_SIDE, THUMBNAIL_SIDE),
        MediaType::Jpeg,
    )?;
    Ok(CleanPhoto { bytes, thumbnail })
}

fn encode(image: &DynamicImage, media_type: MediaType) -> Result<Vec<u8>, String> {
    let mut out = Vec::new();
    let result = match media_type {
        MediaType::Jpeg => {
            // JPEG has no alpha channel.
            let rgb = DynamicImage::ImageRgb8(image.to_rgb8());
            rgb.write_with_encoder(JpegEncoder::new_with_quality(&mut out, 90))
        }
        MediaType::WebP => {
            let rgba = DynamicImage::ImageRgba8(image.to_rgba8());
            rgba.write_to(&mut Cursor::new(&mut out), ImageFormat::WebP)
        }
        MediaType::Png => image.write_to(&mut Cursor::new(&mut out), ImageFormat::Png),
        MediaType::Pdf => return Err("not an image".to_owned()),
    };
    result.map_err(|error| format!("the image does not encode: {error}"))?;
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sniffs_by_magic_bytes() {
        assert_eq!(
            MediaType::sniff(b"\xFF\xD8\xFF\xE0rest"),
            Some(MediaType::Jpeg)
        );
        assert_eq!(
            MediaType::sniff(b"\x89PNG\r\n\x1a\nrest"),
            Some(MediaType::Png)
        );
        assert_eq!(
            MediaType::sniff(b"RIFF\0\0\0\0WEBPVP8 "),
            Some(MediaType::WebP)
        );
        assert_eq!(MediaType::sniff(b"%PDF-1.7\n"), Some(MediaType::Pdf));
        assert_eq!(MediaType::sniff(b"hello, world"), None);
        assert_eq!(MediaType::sniff(b"RIFF\0\0\0\0WAVE"), None);
    }

    #[test]
    fn a_photo_keeps_its_pixels_and_loses_its_metadata() {
        let image = DynamicImage::ImageRgb8(image::RgbImage::from_pixel(
            640,
            480,
            image::Rgb([200, 10, 10]),
        ));
        let mut jpeg = Vec::new();
        image
            .write_with_encoder(JpegEncoder::new_with_quality(&mut jpeg, 90))
            .unwrap();
        // An APP1 Exif segment right after SOI.
        let exif = b"Exif\0\0MM\0*GPSLatitude 52.37N";
        let mut tagged = vec![0xFF, 0xD8, 0xFF, 0xE1];
        tagged.extend_from_slice(&((exif.len() + 2) as u16).to_be_bytes());
        tagged.extend_from_slice(exif);
        tagged.extend_from_slice(&jpeg[2..]);
        let clean = clean_photo(&tagged, MediaType::Jpeg).unwrap();
        assert_eq!(MediaType::sniff(&clean.bytes), Some(MediaType::Jpeg));
        assert!(!clean.bytes.windows(4).any(|w| w == b"Exif"));
        assert!(!clean.bytes.windows(3).any(|w| w == b"GPS"));
        let thumb = image::load_from_memory(&clean.thumbnail).unwrap();
        assert_eq!((thumb.width(), thumb.height()), (320, 240));
    }

    #[test]
    fn garbage_behind_a_magic_number_is_refused() {
        assert!(clean_photo(b"\x89PNG\r\n\x1a\nnot really", MediaType::Png).is_err());
    }
}
