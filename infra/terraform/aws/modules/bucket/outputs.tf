# What the root module needs from one bucket: its name, ARN and KMS key.

output "name" {
  value = aws_s3_bucket.this.id
}

output "arn" {
  value = aws_s3_bucket.this.arn
}

output "kms_key_arn" {
  description = "The bucket's KMS key, or null with SSE-S3."
  value       = local.kms ? aws_kms_key.this[0].arn : null
}

output "policy_json" {
  description = "The bucket policy, for review (`terraform console`) and the tests."
  value       = data.aws_iam_policy_document.bucket.json
}
