# Offline plan tests of the AWS stack (`terraform init && terraform test` in
# infra/terraform/aws): fake static keys and skipped account checks, so no AWS account
# or network call is needed beyond getting the provider. They check the invariants the
# design rests on: bucket names, the roles' limits, the TLS-only bucket policy, the
# generated firedrill.toml, and the region validation.

provider "aws" {
  alias                       = "primary"
  region                      = "eu-west-1"
  access_key                  = "test"
  secret_key                  = "test"
  skip_credentials_validation = true
  skip_requesting_account_id  = true
  skip_metadata_api_check     = true
}

provider "aws" {
  alias                       = "replica"
  region                      = "eu-central-1"
  access_key                  = "test"
  secret_key                  = "test"
  skip_credentials_validation = true
  skip_requesting_account_id  = true
  skip_metadata_api_check     = true
}

override_data {
  target = data.aws_caller_identity.current
  values = {
    account_id = "123456789012"
  }
}

variables {
  primary_region     = "eu-west-1"
  replica_region     = "eu-central-1"
  bucket_name_prefix = "acme-firedrill"
  jurisdiction       = "EU"
}

run "roles_are_least_privilege" {
  command = plan

  variables {
    sse_algorithm = "AES256"
  }

  assert {
    condition     = alltrue([for doc in [data.aws_iam_policy_document.writer.json, data.aws_iam_policy_document.drill.json, data.aws_iam_policy_document.maintenance.json] : !strcontains(doc, "DeleteObjectVersion") && !strcontains(doc, "BypassGovernanceRetention") && !strcontains(doc, "PutObjectRetention")])
    error_message = "No role may delete versions, bypass governance retention or change retention."
  }

  assert {
    condition = alltrue([
      for s in jsondecode(data.aws_iam_policy_document.writer.json).Statement :
      alltrue([for r in flatten([s.Resource]) : endswith(r, "/repo/locks/*")])
      if contains(flatten([s.Action]), "s3:DeleteObject")
    ])
    error_message = "The writer deletes lock objects only."
  }

  assert {
    condition = alltrue([
      for s in jsondecode(data.aws_iam_policy_document.drill.json).Statement :
      alltrue([for r in flatten([s.Resource]) : endswith(r, "/repo/locks/*") || endswith(r, "/repo/reports/*")])
      if contains(flatten([s.Action]), "s3:PutObject") || contains(flatten([s.Action]), "s3:DeleteObject")
    ])
    error_message = "The drill role writes only locks and reports."
  }

  assert {
    condition     = strcontains(data.aws_iam_policy_document.maintenance.json, "arn:aws:s3:::acme-firedrill-eu-central-1/repo/*")
    error_message = "The maintenance role covers the whole repository prefix of both buckets."
  }
}

run "firedrill_toml_with_kms" {
  command = plan

  override_resource {
    target          = module.primary_bucket.aws_s3_bucket.this
    override_during = plan
    values = {
      id  = "acme-firedrill-eu-west-1"
      arn = "arn:aws:s3:::acme-firedrill-eu-west-1"
    }
  }

  override_resource {
    target          = module.replica_bucket.aws_s3_bucket.this
    override_during = plan
    values = {
      id  = "acme-firedrill-eu-central-1"
      arn = "arn:aws:s3:::acme-firedrill-eu-central-1"
    }
  }

  override_resource {
    target          = module.primary_bucket.aws_kms_key.this
    override_during = plan
    values = {
      arn = "arn:aws:kms:eu-west-1:123456789012:key/primary"
    }
  }

  override_resource {
    target          = module.replica_bucket.aws_kms_key.this
    override_during = plan
    values = {
      arn = "arn:aws:kms:eu-central-1:123456789012:key/replica"
    }
  }

  override_resource {
    target          = aws_iam_role.this
    override_during = plan
    values = {
      arn = "arn:aws:iam::123456789012:role/acme-firedrill-role"
    }
  }

  assert {
    condition     = output.primary_bucket == "acme-firedrill-eu-west-1" && output.replica_bucket == "acme-firedrill-eu-central-1"
    error_message = "Bucket names are <prefix>-<region>."
  }

  assert {
    condition = alltrue([for line in [
      "[primary]",
      "bucket = \"acme-firedrill-eu-west-1\"",
      "[[replica]]",
      "name = \"s3-eu-central-1\"",
      "region = \"eu-central-1\"",
      "jurisdiction = \"EU\"",
      "sse_kms_key_id = \"arn:aws:kms:eu-central-1:123456789012:key/replica\"",
    ] : strcontains(output.firedrill_toml, line)])
    error_message = "The generated firedrill.toml names both stores with region, jurisdiction and KMS key."
  }

  assert {
    condition     = strcontains(data.aws_iam_policy_document.drill.json, "kms:ViaService")
    error_message = "KMS keys are usable only through S3."
  }

  assert {
    condition     = strcontains(module.primary_bucket.policy_json, "aws:SecureTransport") && strcontains(module.replica_bucket.policy_json, "s3:TlsVersion")
    error_message = "The bucket policies refuse plain HTTP and TLS older than 1.2."
  }

  assert {
    condition     = strcontains(module.replica_bucket.policy_json, "s3:BypassGovernanceRetention") && strcontains(module.replica_bucket.policy_json, "aws:PrincipalArn")
    error_message = "The bucket policies deny the firedrill roles any retention bypass."
  }
}

run "repository_at_bucket_root" {
  command = plan

  variables {
    sse_algorithm     = "AES256"
    repository_prefix = ""
  }

  assert {
    condition     = strcontains(data.aws_iam_policy_document.writer.json, "\"arn:aws:s3:::acme-firedrill-eu-west-1/locks/*\"") && strcontains(data.aws_iam_policy_document.writer.json, "\"arn:aws:s3:::acme-firedrill-eu-west-1/*\"")
    error_message = "With an empty prefix the roles cover the bucket root."
  }
}

run "same_region_is_refused" {
  command = plan

  variables {
    replica_region = "eu-west-1"
  }

  expect_failures = [var.replica_region]
}
