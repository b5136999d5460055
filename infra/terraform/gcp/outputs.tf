# What the stack made, and a ready [[replica]] section for firedrill.toml
# (`terraform output -raw firedrill_toml`).

output "bucket_name" {
  value = google_storage_bucket.this.name
}

output "location" {
  value = google_storage_bucket.this.location
}

output "protection" {
  description = "How deleted or replaced objects are protected."
  value = local.use_retention_policy ? format(
    "retention policy of %d days%s", var.retention_days, var.retention_locked ? " (LOCKED)" : " (unlocked)"
  ) : format("versioning (noncurrent versions kept %d days) and soft delete (%d days)", var.noncurrent_version_expiry_days, var.soft_delete_days)
}

output "writer_service_account" {
  value = google_service_account.this["writer"].email
}

output "drill_service_account" {
  value = google_service_account.this["drill"].email
}

output "maintenance_service_account" {
  value = google_service_account.this["maintenance"].email
}

output "firedrill_toml" {
  description = "A [[replica]] section of firedrill.toml for this bucket."
  value = templatefile("${path.module}/firedrill.toml.tftpl", {
    name           = local.replica_name
    bucket         = google_storage_bucket.this.name
    prefix         = var.repository_prefix
    region         = local.region_label
    jurisdiction   = var.jurisdiction
    writer_account = google_service_account.this["writer"].email
  })
}
