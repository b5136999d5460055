# What the stack made, and a ready [primary] / [[replica]] section for firedrill.toml
# (`terraform output -raw firedrill_toml`) plus AWS profiles that assume the roles
# (`terraform output -raw aws_config_profiles`).

output "primary_bucket" {
  value = module.primary_bucket.name
}

output "replica_bucket" {
  value = module.replica_bucket.name
}

output "primary_region" {
  value = var.primary_region
}

output "replica_region" {
  value = var.replica_region
}

output "kms_key_arns" {
  description = "The KMS key of each bucket (empty with SSE-S3)."
  value = local.use_kms ? {
    primary = module.primary_bucket.kms_key_arn
    replica = module.replica_bucket.kms_key_arn
  } : {}
}

output "writer_role_arn" {
  value = aws_iam_role.this["writer"].arn
}

output "drill_role_arn" {
  value = aws_iam_role.this["drill"].arn
}

output "maintenance_role_arn" {
  value = aws_iam_role.this["maintenance"].arn
}

output "firedrill_toml" {
  description = "The [primary] and [[replica]] sections of firedrill.toml for these buckets."
  value = templatefile("${path.module}/firedrill.toml.tftpl", {
    primary_bucket  = module.primary_bucket.name
    replica_bucket  = module.replica_bucket.name
    primary_region  = var.primary_region
    replica_region  = var.replica_region
    replica_name    = local.replica_name
    prefix          = var.repository_prefix
    jurisdiction    = var.jurisdiction
    primary_kms_key = local.use_kms ? module.primary_bucket.kms_key_arn : ""
    replica_kms_key = local.use_kms ? module.replica_bucket.kms_key_arn : ""
    lock_mode       = var.object_lock_mode
    retention_days  = var.retention_days
    writer_role     = aws_iam_role.this["writer"].arn
  })
}

output "aws_config_profiles" {
  description = "Profiles for ~/.aws/config (or the file AWS_CONFIG_FILE names) that assume each role from a source profile \"firedrill-base\" holding the caller's own credentials."
  value       = <<-EOT
    # Append to the AWS config file of the user firedrill runs as. "firedrill-base" is
    # a profile with credentials allowed to assume these roles (or use
    # credential_source = Ec2InstanceMetadata / EcsContainer instead of source_profile).
    [profile firedrill-writer]
    role_arn = ${aws_iam_role.this["writer"].arn}
    source_profile = firedrill-base
    region = ${var.primary_region}

    [profile firedrill-drill]
    role_arn = ${aws_iam_role.this["drill"].arn}
    source_profile = firedrill-base
    region = ${var.primary_region}

    [profile firedrill-maintenance]
    role_arn = ${aws_iam_role.this["maintenance"].arn}
    source_profile = firedrill-base
    region = ${var.primary_region}
  EOT
}
