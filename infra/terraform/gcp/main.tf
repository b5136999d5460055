# The GCS bucket of a firedrill store (usually a replica on a second provider): uniform
# bucket-level access, public access prevention enforced, and protection against
# deletion: Object Versioning with soft delete by default, or a bucket retention policy
# (optionally locked) when retention_days > 0. Cloud Storage refuses both versioning and
# a retention policy on one bucket, so exactly one of them is on.

locals {
  use_retention_policy = var.retention_days > 0
  key_prefix           = var.repository_prefix == "" ? "" : "${var.repository_prefix}/"
  replica_name         = var.replica_name != "" ? var.replica_name : "gcs-${lower(var.location)}"
  region_label         = var.region_label != "" ? var.region_label : lower(var.location)
}

resource "google_storage_bucket" "this" {
  name                        = var.bucket_name
  location                    = var.location
  storage_class               = var.storage_class
  uniform_bucket_level_access = true
  public_access_prevention    = "enforced"
  force_destroy               = var.force_destroy
  labels                      = var.labels

  dynamic "custom_placement_config" {
    for_each = length(var.dual_region_locations) > 0 ? [1] : []

    content {
      data_locations = var.dual_region_locations
    }
  }

  versioning {
    enabled = !local.use_retention_policy
  }

  dynamic "retention_policy" {
    for_each = local.use_retention_policy ? [1] : []

    content {
      retention_period = var.retention_days * 86400
      is_locked        = var.retention_locked
    }
  }

  soft_delete_policy {
    retention_duration_seconds = var.soft_delete_days * 86400
  }

  dynamic "encryption" {
    for_each = var.kms_key_name == null ? [] : [1]

    content {
      default_kms_key_name = var.kms_key_name
    }
  }

  # Versions made noncurrent by prune, forget, lock release or an overwrite.
  dynamic "lifecycle_rule" {
    for_each = local.use_retention_policy ? [] : [1]

    content {
      condition {
        days_since_noncurrent_time = var.noncurrent_version_expiry_days
        with_state                 = "ARCHIVED"
      }
      action {
        type = "Delete"
      }
    }
  }

  # XML-API multipart uploads left unfinished (firedrill itself uses resumable uploads,
  # which expire on their own after a week).
  lifecycle_rule {
    condition {
      age = 7
    }
    action {
      type = "AbortIncompleteMultipartUpload"
    }
  }

  lifecycle {
    precondition {
      condition     = !var.retention_locked || var.retention_days > 0
      error_message = "retention_locked needs retention_days > 0: there is no retention policy to lock."
    }
  }
}
